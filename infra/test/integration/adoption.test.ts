import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { type ControlPlane, startControlPlane } from "../../../scripts/cluster/controlPlane.ts";
import { toolPath } from "../../../scripts/cluster/tools.ts";
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  adoptionPolicyBindingObject,
  adoptionPolicyObject,
  owned,
} from "../../adoption.ts";

/** The adoption guard on a real API server, written as the Kubernetes provider writes: server-side apply. */
describe("the adoption policy on a real API server", () => {
  let plane: ControlPlane;
  const kubectl = (args: string[], input?: string) =>
    spawnSync(toolPath("kubectl"), ["--kubeconfig", plane.kubeconfigPath, ...args], { input, encoding: "utf8" });
  const apply = (object: unknown, dryRun = false) =>
    kubectl(
      ["apply", "--server-side", `--field-manager=${MANAGED_BY}`, ...(dryRun ? ["--dry-run=server"] : []), "-f", "-"],
      JSON.stringify(object),
    );
  const namespace = (name: string, labels: Record<string, string> = {}) =>
    owned({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });

  before(async () => {
    plane = await startControlPlane();
    for (const object of [adoptionPolicyObject(), adoptionPolicyBindingObject()]) {
      const result = apply(owned(object));
      assert.equal(result.status, 0, result.stderr);
    }
    assert.equal(kubectl(["create", "namespace", "probe"]).status, 0);
    // The API server loads policies from its own watch: wait until the guard refuses (a dry run).
    for (let i = 0; i < 100 && apply(namespace("probe"), true).status === 0; i++) await sleep(100);
  });
  after(async () => {
    await plane.stop();
  });

  it("refuses taking over a namespace someone else made, naming it, and leaves it as it was", () => {
    assert.equal(kubectl(["create", "namespace", "theirs"]).status, 0);
    const refused = apply(namespace("theirs"));
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /Namespace theirs already exists and was not made by edgek8s/);
    const labels = JSON.parse(
      kubectl(["get", "namespace", "theirs", "-o", "jsonpath={.metadata.labels}"]).stdout,
    ) as Record<string, string>;
    assert.equal(labels[MANAGED_BY_LABEL], undefined);
  });

  it("lets the program create its namespaces and update them, and others keep editing theirs", () => {
    assert.equal(apply(namespace("ours")).status, 0);
    const updated = apply(namespace("ours", { "pod-security.kubernetes.io/enforce": "restricted" }));
    assert.equal(updated.status, 0, updated.stderr);
    assert.equal(kubectl(["create", "namespace", "other"]).status, 0);
    assert.equal(kubectl(["label", "namespace", "other", "team=payments"]).status, 0);
  });

  it("guards the CRD the same way", () => {
    const crd = (group: string) => ({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: "Namespaced",
        names: { kind: "Widget", plural: "widgets" },
        versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object" } } }],
      },
    });
    assert.equal(kubectl(["create", "-f", "-"], JSON.stringify(crd("theirs.example"))).status, 0);
    const refused = apply(owned(crd("theirs.example")));
    assert.match(
      refused.stderr,
      /CustomResourceDefinition widgets\.theirs\.example already exists and was not made by edgek8s/,
    );
    assert.equal(apply(owned(crd("ours.example"))).status, 0);
  });
});
