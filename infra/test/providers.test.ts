import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type HelmReleaseInputs,
  diffHelmRelease,
  installRelease,
  uninstallRelease,
} from "../providers/helmReleaseOps.ts";
import { type KubeObjectInputs, diffKubeObject, objectId, resourceTypeOf } from "../providers/kubeObjectOps.ts";

const ns = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});

describe("KubeObject operations", () => {
  const base: KubeObjectInputs = { kubeconfig: "k", object: ns("a") };
  it("replaces on a new name, namespace, kind or context; applies any other change; else nothing", () => {
    assert.deepEqual(diffKubeObject(base, { ...base, object: ns("b") }), {
      changes: true,
      replaces: ["object"],
      deleteBeforeReplace: false,
    });
    assert.deepEqual(diffKubeObject(base, { ...base, context: "other" }), {
      changes: true,
      replaces: ["context"],
      deleteBeforeReplace: true,
    });
    assert.deepEqual(diffKubeObject(base, { ...base, object: ns("a", { x: "y" }) }), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    assert.equal(diffKubeObject(base, { ...base }).changes, false);
  });
  it("knows the kinds the program makes and refuses others by name", () => {
    assert.equal(
      resourceTypeOf({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" }).plural,
      "networkpolicies",
    );
    assert.throws(
      () => resourceTypeOf({ apiVersion: "apps/v1", kind: "Deployment" }),
      /apps\/v1 Deployment is not a kind/,
    );
    assert.equal(objectId({ ...ns("x"), kind: "Secret", metadata: { name: "s", namespace: "n" } }), "Secret n/s");
  });
});

describe("HelmRelease operations", () => {
  const base: HelmReleaseInputs = {
    kubeconfig: "apiVersion: v1\nkind: Config\n",
    name: "edgek8s-agent",
    namespace: "edgek8s-system",
    chart: "/charts/agent",
    chartDigest: "d1",
    values: { replicaCount: 1 },
    timeoutSeconds: 300,
  };
  it("replaces on a new name or namespace, upgrades on new values or chart content", () => {
    assert.deepEqual(diffHelmRelease(base, { ...base, namespace: "x" }).replaces, ["namespace"]);
    assert.deepEqual(diffHelmRelease(base, { ...base, chartDigest: "d2" }), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    assert.equal(diffHelmRelease(base, { ...base, values: { replicaCount: 2 } }).changes, true);
    assert.equal(diffHelmRelease(base, { ...base }).changes, false);
  });
  it("installs with --wait from private temporary files that are gone afterwards", async () => {
    const calls: string[][] = [];
    let kubeconfigFile = "";
    const out = await installRelease(base, async (args) => {
      calls.push(args);
      kubeconfigFile = args[args.indexOf("--kubeconfig") + 1] ?? "";
      const { statSync } = await import("node:fs");
      assert.equal(statSync(kubeconfigFile).mode & 0o777, 0o600);
      return JSON.stringify({ version: 1, info: { status: "deployed" } });
    });
    assert.deepEqual([out.revision, out.status], [1, "deployed"]);
    assert.deepEqual(calls[0]?.slice(0, 5), [
      "install",
      "edgek8s-agent",
      "/charts/agent",
      "--namespace",
      "edgek8s-system",
    ]);
    assert.ok(calls[0]?.includes("--wait"));
    const { existsSync } = await import("node:fs");
    assert.equal(existsSync(kubeconfigFile), false);
  });
  it("treats an uninstall of a release that is gone as success, and other failures as failures", async () => {
    await uninstallRelease(base, () =>
      Promise.reject(
        new Error("helm uninstall: Error: uninstall: Release not loaded: edgek8s-agent: release: not found"),
      ),
    );
    await assert.rejects(
      uninstallRelease(base, () => Promise.reject(new Error("helm uninstall: connection refused"))),
      /connection refused/,
    );
  });
});
