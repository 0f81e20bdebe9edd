import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { defineStack } from "../stack.ts";
import { KUBECONFIG, LOCAL, ROOT, byName, inputs, objectOf } from "./fixtures.ts";
import { runMocked, valueOf } from "./mocks.ts";

describe("the Pulumi program under mocks: local mode", async () => {
  const { result, resources, invokes } = await runMocked(() => defineStack(inputs(LOCAL)));

  it("declares hub, cluster and devices as components named by their ids, children named after them", () => {
    const components = resources.filter((r) => r.type.startsWith("edgek8s:index:")).map((r) => `${r.type} ${r.name}`);
    assert.deepEqual(components.sort(), [
      "edgek8s:index:EdgeCluster local",
      "edgek8s:index:EdgeDevice edge-device-1",
      "edgek8s:index:EdgeDevice line3-gw",
      "edgek8s:index:EdgeHub hub",
    ]);
    const device = byName(resources, "edge-device-1");
    const children = resources.filter((r) => r.parent === device.urn).map((r) => r.name);
    assert.deepEqual(children.sort(), [
      "edge-device-1-edgedeployment",
      "edge-device-1-namespace",
      "edge-device-1-networkpolicy-allow-edgehub-gateway",
      "edge-device-1-networkpolicy-allow-within-device",
      "edge-device-1-networkpolicy-default-deny-ingress",
    ]);
    assert.ok(children.every((n) => n.startsWith("edge-device-1-")));
    const cluster = byName(resources, "local");
    assert.deepEqual(
      resources
        .filter((r) => r.parent === cluster.urn)
        .map((r) => r.name)
        .sort(),
      ["local-agent", "local-agent-namespace", "local-crd"],
    );
  });

  it("makes no Azure resources and no device identities, and calls no Azure function", () => {
    assert.equal(resources.filter((r) => r.type.startsWith("azure-native:")).length, 0);
    assert.equal(resources.filter((r) => r.type.endsWith(":DeviceIdentity")).length, 0);
    assert.equal(invokes.length, 0);
  });

  it("puts each device in msiot-<hub>-<device>, labelled for Pod Security, and exports the namespaces", async () => {
    const ns = objectOf(byName(resources, "line3-gw-namespace"));
    assert.equal(ns.metadata.name, "msiot-local-hub-line3-gw");
    assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], "baseline");
    assert.equal(ns.metadata.labels?.["edgek8s.io/device"], "line3-gw");
    assert.deepEqual(result.devices["line3-gw"], { cluster: "local", namespace: "msiot-local-hub-line3-gw" });
    assert.equal(await valueOf(result.hubHostName), "local-hub.azure-devices.net");
  });

  it("writes the manifest file's desired properties into the EdgeDeployment", () => {
    const ed = byName(resources, "edge-device-1-edgedeployment");
    const object = ed.inputs["object"] as {
      spec: { deviceId: string; edgeAgent: { modules: Record<string, unknown> } };
    };
    const file = JSON.parse(readFileSync(`${ROOT}deployments/quickstart.json`, "utf8")) as {
      modulesContent: { $edgeAgent: { "properties.desired": unknown } };
    };
    assert.equal(object.spec.deviceId, "edge-device-1");
    assert.deepEqual(object.spec.edgeAgent, file.modulesContent.$edgeAgent["properties.desired"]);
  });

  it("orders dependencies: CRD and namespace before the EdgeDeployment, the namespace before its contents", () => {
    const crd = byName(resources, "local-crd");
    for (const device of ["edge-device-1", "line3-gw"]) {
      const ns = byName(resources, `${device}-namespace`);
      const ed = byName(resources, `${device}-edgedeployment`);
      assert.ok(ed.dependencies.includes(crd.urn), `${device}: EdgeDeployment waits for the CRD`);
      assert.ok(ed.dependencies.includes(ns.urn), `${device}: EdgeDeployment waits for its namespace`);
      for (const r of resources.filter((x) => x.name.startsWith(`${device}-networkpolicy`)))
        assert.ok(r.dependencies.includes(ns.urn), `${r.name} waits for the namespace`);
    }
    const release = byName(resources, "local-agent");
    assert.ok(release.dependencies.includes(byName(resources, "local-agent-namespace").urn));
    assert.ok(release.dependencies.includes(crd.urn));
  });

  it("keeps every kubeconfig secret", () => {
    const withKubeconfig = resources.filter((r) => "kubeconfig" in r.inputs);
    assert.equal(withKubeconfig.length, 13);
    for (const r of withKubeconfig) assert.ok(r.secretInputs.includes("kubeconfig"), `${r.name}: kubeconfig is secret`);
    for (const r of withKubeconfig) assert.equal(r.inputs["kubeconfig"], KUBECONFIG);
  });

  it("installs the agent chart once for the cluster, watching every namespace", () => {
    const release = byName(resources, "local-agent");
    assert.equal(release.inputs["namespace"], "edgek8s-system");
    assert.deepEqual((release.inputs["values"] as { watch: unknown }).watch, { mode: "all" });
    assert.deepEqual((release.inputs["values"] as { hubBridge: unknown }).hubBridge, { enabled: false });
    assert.match(String(release.inputs["chartDigest"]), /^[0-9a-f]{64}$/);
  });
});
