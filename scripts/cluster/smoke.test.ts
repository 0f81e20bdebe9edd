import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { type ControlPlane, startControlPlane } from "./controlPlane.ts";
import { waitFor } from "./processes.ts";
import { toolPath } from "./tools.ts";

describe("full local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok)", () => {
  let plane: ControlPlane;
  before(async () => {
    plane = await startControlPlane({ full: true, nodes: 2 });
  });
  after(async () => {
    await plane.stop();
  });

  it("serves the pinned Kubernetes version", () => {
    const version = execFileSync(toolPath("kubectl"), ["--kubeconfig", plane.kubeconfigPath, "version", "-o", "json"], {
      encoding: "utf8",
    });
    assert.match(
      (JSON.parse(version) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion,
      /^v1\.\d+\.\d+$/,
    );
  });

  it("kubectl get nodes lists the simulated nodes, Ready", () => {
    const out = execFileSync(
      toolPath("kubectl"),
      ["--kubeconfig", plane.kubeconfigPath, "get", "nodes", "--no-headers"],
      { encoding: "utf8" },
    );
    const lines = out.trim().split("\n");
    assert.equal(lines.length, 2);
    for (const line of lines) assert.match(line, /^kwok-node-\d\s+Ready/);
  });

  it("runs a Deployment's pod to Running on a kwok node", async () => {
    const kc = plane.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: "smoke" } } });
    await waitFor(
      "smoke default ServiceAccount",
      async () => (await core.listNamespacedServiceAccount({ namespace: "smoke" })).items.length > 0,
      30_000,
    );
    await apps.createNamespacedDeployment({
      namespace: "smoke",
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
          },
        },
      },
    });
    let podNode = "";
    await waitFor(
      "pod Running",
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: "smoke" })).items;
        const pod = pods.find((p) => p.status?.phase === "Running");
        podNode = pod?.spec?.nodeName ?? "";
        return pod !== undefined;
      },
      60_000,
    );
    assert.match(podNode, /^kwok-node-\d$/);
    const deployment = await apps.readNamespacedDeployment({ namespace: "smoke", name: "web" });
    await waitFor(
      "deployment available",
      async () =>
        (await apps.readNamespacedDeployment({ namespace: "smoke", name: "web" })).status?.availableReplicas === 1,
      30_000,
    );
    assert.equal(deployment.metadata?.name, "web");
  });
});
