import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { type ControlPlane, startControlPlane } from "../../../scripts/cluster/controlPlane.ts";
import { toolPath } from "../../../scripts/cluster/tools.ts";
import { parseStackConfig } from "../../config.ts";
import { deviceNamespaceObjects } from "../../namespace.ts";

describe("device namespace objects on a real API server", () => {
  let plane: ControlPlane;
  const kubectl = (args: string[], input?: string) =>
    spawnSync(toolPath("kubectl"), ["--kubeconfig", plane.kubeconfigPath, ...args], { input, encoding: "utf8" });

  before(async () => {
    plane = await startControlPlane();
  });
  after(async () => {
    await plane.stop();
  });

  it("are accepted as they are, and Pod Security then refuses a privileged pod in the device namespace", () => {
    const result = parseStackConfig({
      hub: { mode: "none" },
      clusters: { local: {} },
      devices: { "line1-gw": { cluster: "local", manifest: "deployments/quickstart.json" } },
      namespaceDefaults: {
        podSecurity: "baseline",
        resourceQuota: { pods: "20" },
        limitRange: { default: { memory: "256Mi" } },
      },
    });
    if (!result.ok) assert.fail(JSON.stringify(result.issues));
    const objects = deviceNamespaceObjects(result.config, "line1-gw");
    const applied = kubectl(
      ["apply", "--server-side", "--field-manager=edgek8s-pulumi", "-f", "-"],
      objects.map((o) => JSON.stringify(o)).join("\n"),
    );
    assert.equal(applied.status, 0, applied.stderr);
    const ns = objects[0]!.metadata.name;
    const listed = execFileSync(
      toolPath("kubectl"),
      ["--kubeconfig", plane.kubeconfigPath, "get", "networkpolicy,resourcequota,limitrange", "-n", ns, "-o", "name"],
      { encoding: "utf8" },
    );
    assert.deepEqual(listed.trim().split("\n").sort(), [
      "limitrange/device-defaults",
      "networkpolicy.networking.k8s.io/allow-edgehub-gateway",
      "networkpolicy.networking.k8s.io/allow-published-ports",
      "networkpolicy.networking.k8s.io/allow-within-device",
      "networkpolicy.networking.k8s.io/default-deny-ingress",
      "resourcequota/device-quota",
    ]);
    // No controller-manager here to create the namespace's default ServiceAccount.
    assert.equal(kubectl(["create", "serviceaccount", "default", "-n", ns]).status, 0);
    const privileged = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "root", namespace: ns },
      spec: { containers: [{ name: "c", image: "x", securityContext: { privileged: true } }] },
    };
    const refused = kubectl(["create", "-f", "-"], JSON.stringify(privileged));
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /violates PodSecurity "baseline:latest"/);
  });
});
