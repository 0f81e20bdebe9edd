import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { V1Deployment } from "@kubernetes/client-node";
import { CHART_DIR, renderChart } from "./harness.ts";
import { toolPath } from "../../../scripts/cluster/tools.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { translationDefaultsFrom, translationFlagOptions } from "../../src/cli/translationFlags.ts";
import {
  AGENT_RBAC_RULES,
  HUB_BRIDGE_RBAC_RULES,
  LEADER_ELECTION_RULES,
  RELEASE_ENGINE_RBAC_RULES,
} from "../../src/rbac.ts";

const kinds = (objects: KubeObject[]) => objects.map((o) => `${o.kind ?? ""}/${o.metadata?.namespace ?? "-"}`);

describe("agent Helm chart", () => {
  it("passes helm lint", () => {
    const out = execFileSync(toolPath("helm"), ["lint", CHART_DIR, "--strict"], { encoding: "utf8" });
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it("has no crds/ folder: Pulumi owns the CRD", () => {
    assert.equal(existsSync(`${CHART_DIR}/crds`), false);
  });

  it("namespaces mode: a Role and RoleBinding per watched namespace, leader election in the release namespace", () => {
    const objects = renderChart("edge-system", ["--set", "watch.namespaces={msiot-a-d1,msiot-a-d2}"]);
    assert.deepEqual(kinds(objects).sort(), [
      "Deployment/edge-system",
      "Role/edge-system",
      "Role/msiot-a-d1",
      "Role/msiot-a-d2",
      "RoleBinding/edge-system",
      "RoleBinding/msiot-a-d1",
      "RoleBinding/msiot-a-d2",
      "ServiceAccount/edge-system",
    ]);
    const deployment = objects.find((o) => o.kind === "Deployment") as V1Deployment;
    assert.ok(deployment.spec?.template.spec?.containers[0]?.args?.includes("--namespace=msiot-a-d1,msiot-a-d2"));
  });

  it("all mode: one ClusterRole and binding, --all-namespaces", () => {
    const objects = renderChart("edge-system", ["--set", "watch.mode=all"]);
    assert.deepEqual(kinds(objects).sort(), [
      "ClusterRole/-",
      "ClusterRoleBinding/-",
      "Deployment/edge-system",
      "Role/edge-system",
      "RoleBinding/edge-system",
      "ServiceAccount/edge-system",
    ]);
    const deployment = objects.find((o) => o.kind === "Deployment") as V1Deployment;
    assert.ok(deployment.spec?.template.spec?.containers[0]?.args?.includes("--all-namespaces"));
  });

  it("renders exactly the agent's rules (agent/src/rbac.ts), with the hub bridge's only when it is enabled", () => {
    const rulesOf = (objects: KubeObject[], name: string) =>
      objects.find((o) => o.metadata?.name === name && (o.kind === "ClusterRole" || o.kind === "Role"))?.["rules"];
    const hub = renderChart("edge-system", ["--set", "watch.mode=all"]);
    assert.deepEqual(rulesOf(hub, "edgek8s-agent"), [...AGENT_RBAC_RULES, ...HUB_BRIDGE_RBAC_RULES]);
    assert.deepEqual(rulesOf(hub, "edgek8s-agent-leader-election"), LEADER_ELECTION_RULES);
    const local = renderChart("edge-system", ["--set", "watch.mode=all", "--set", "hubBridge.enabled=false"]);
    assert.deepEqual(rulesOf(local, "edgek8s-agent"), AGENT_RBAC_RULES);
    const args = (objects: KubeObject[]) =>
      (objects.find((o) => o.kind === "Deployment") as V1Deployment).spec?.template.spec?.containers[0]?.args ?? [];
    assert.ok(args(hub).includes("--hub-bridge"));
    assert.ok(!args(local).includes("--hub-bridge"));
    assert.ok(!args(local).includes("--release-engine"));
  });

  it("release engine: its rules and flags only when enabled, in cluster mode without the hub bridge", () => {
    const objects = renderChart("edge-system", [
      ...["--set", "watch.mode=all", "--set", "hubBridge.enabled=false"],
      ...["--set", "releaseEngine.enabled=true", "--set", "releaseEngine.evalIntervalSeconds=300"],
    ]);
    const clusterRole = objects.find((o) => o.kind === "ClusterRole");
    assert.deepEqual(clusterRole?.["rules"], [...AGENT_RBAC_RULES, ...RELEASE_ENGINE_RBAC_RULES]);
    const args = (objects.find((o) => o.kind === "Deployment") as V1Deployment).spec?.template.spec?.containers[0]
      ?.args;
    assert.ok(args?.includes("--release-engine"));
    assert.ok(args?.includes("--release-eval-interval=300s"));
    for (const [sets, message] of [
      [["--set", "watch.mode=namespaces"], /releaseEngine.enabled needs watch.mode=all/],
      [["--set", "watch.mode=all"], /turn hubBridge.enabled off/],
    ] as const) {
      const result = spawnSync(
        toolPath("helm"),
        ["template", "x", CHART_DIR, "--set", "releaseEngine.enabled=true", ...sets],
        { encoding: "utf8" },
      );
      assert.match(result.stderr, message);
    }
  });

  it("every translation flag of the agent is a chart value, rendered so the agent's own parser accepts it", () => {
    const objects = renderChart("edge-system", [
      ...["--set", "translation.serviceType=LoadBalancer", "--set", "translation.volumeSize=5Gi"],
      ...["--set", "translation.storageClassName=local-path", "--set", "translation.volumeAccessMode=ReadOnlyMany"],
      ...["--set", "translation.volumeNameFromSource=true", "--set", "translation.parentHostname=parent.factory.local"],
    ]);
    const args = (objects.find((o) => o.kind === "Deployment") as V1Deployment).spec?.template.spec?.containers[0]
      ?.args;
    const flags: Record<string, string | boolean> = {};
    for (const arg of args ?? []) {
      const [name = "", value] = arg.replace(/^--/, "").split("=", 2);
      if (name in translationFlagOptions) flags[name] = value ?? true;
    }
    assert.deepEqual(Object.keys(flags).sort(), Object.keys(translationFlagOptions).sort(), "a chart value per flag");
    assert.deepEqual(translationDefaultsFrom(flags), {
      serviceType: "LoadBalancer",
      volumeSize: "5Gi",
      storageClassName: "local-path",
      volumeAccessMode: "ReadOnlyMany",
      volumeNameFromSource: true,
      parentHostname: "parent.factory.local",
    });
  });

  it("secure defaults: non-root, read-only root filesystem, no privilege escalation, no capabilities, requests, probes", () => {
    const deployment = renderChart("edge-system").find((o) => o.kind === "Deployment") as V1Deployment;
    const pod = deployment.spec?.template.spec;
    const container = pod?.containers[0];
    assert.equal(pod?.securityContext?.runAsNonRoot, true);
    assert.equal(pod?.securityContext?.seccompProfile?.type, "RuntimeDefault");
    assert.equal(container?.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(container?.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(container?.securityContext?.capabilities?.drop, ["ALL"]);
    assert.ok(container?.resources?.requests?.["memory"]);
    assert.equal(container?.livenessProbe?.httpGet?.path, "/healthz");
    assert.equal(container?.readinessProbe?.httpGet?.path, "/readyz");
  });

  it("identity and readiness: POD_NAME names the replica; a rollout never waits for a standby to become ready", () => {
    const deployment = renderChart("edge-system", ["--set", "replicaCount=2"]).find(
      (o) => o.kind === "Deployment",
    ) as V1Deployment;
    const env = deployment.spec?.template.spec?.containers[0]?.env ?? [];
    assert.equal(env.find((e) => e.name === "POD_NAME")?.valueFrom?.fieldRef?.fieldPath, "metadata.name");
    assert.deepEqual(deployment.spec?.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: "100%" },
    });
  });

  it("values.schema.json rejects bad values with the field named", () => {
    for (const [set, field] of [
      ["watch.mode=some", "/watch/mode"],
      ["translation.serviceType=External", "/translation/serviceType"],
      ["replicaCount=0", "/replicaCount"],
      ["translation.volumeSize=lots", "/translation/volumeSize"],
      ["translation.parentHostname=no host", "/translation/parentHostname"],
    ] as const) {
      const result = spawnSync(toolPath("helm"), ["template", "x", CHART_DIR, "--set", set], { encoding: "utf8" });
      assert.notEqual(result.status, 0, set);
      assert.ok(result.stderr.includes(field), `${set}: ${result.stderr}`);
    }
    const noLeader = spawnSync(
      toolPath("helm"),
      ["template", "x", CHART_DIR, "--set", "replicaCount=2", "--set", "leaderElection.enabled=false"],
      { encoding: "utf8" },
    );
    assert.match(noLeader.stderr, /replicaCount > 1 needs leaderElection.enabled=true/);
  });

  it("documents every value", () => {
    const values = readFileSync(`${CHART_DIR}/values.yaml`, "utf8");
    const schema = JSON.parse(readFileSync(`${CHART_DIR}/values.schema.json`, "utf8")) as {
      properties: Record<string, unknown>;
    };
    for (const key of Object.keys(schema.properties))
      assert.match(values, new RegExp(`# -- .*\\n(#.*\\n)*${key}:`), `values.yaml documents ${key}`);
  });
});

describe("agent Dockerfile", () => {
  const dockerfile = readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8");
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
  it("builds on Node 24 by default and ships the bundle on a distroless base, as non-root", () => {
    assert.match(dockerfile, /^ARG BASE=node:24-bookworm-slim$/m);
    assert.match(dockerfile, /^ARG RUNTIME=gcr\.io\/distroless\/cc-debian12$/m);
    assert.match(finalStage, /^FROM \$\{RUNTIME\}$/m);
    assert.doesNotMatch(finalStage, /node_modules|agent\/src/, "the final stage has the bundle only");
    assert.match(finalStage, /^USER 1000:1000$/m);
    assert.match(finalStage, /^ENTRYPOINT \["\/usr\/local\/bin\/node", "--lite-mode", "\/app\/edgek8s\.js"\]$/m);
  });
});
