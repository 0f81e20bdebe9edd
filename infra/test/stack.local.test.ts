import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ADOPTION_POLICY, MANAGED_BY, MANAGED_BY_LABEL } from "../adoption.ts";
import { AGENT_CHART, agentChartDigest } from "../chart.ts";
import { defineStack } from "../stack.ts";
import { KUBECONFIG, LOCAL, ROOT, byName, inputs, kubernetesObjects, objectOf } from "./fixtures.ts";
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
    const children = resources.filter((r) => r.parent === device.urn).map((r) => `${r.type} ${r.name}`);
    assert.deepEqual(children.sort(), [
      "kubernetes:core/v1:Namespace edge-device-1-namespace",
      "kubernetes:edgek8s.io/v1:EdgeDeployment edge-device-1-edgedeployment",
      "kubernetes:networking.k8s.io/v1:NetworkPolicy edge-device-1-networkpolicy-allow-edgehub-gateway",
      "kubernetes:networking.k8s.io/v1:NetworkPolicy edge-device-1-networkpolicy-allow-within-device",
      "kubernetes:networking.k8s.io/v1:NetworkPolicy edge-device-1-networkpolicy-default-deny-ingress",
    ]);
    const cluster = byName(resources, "local");
    assert.deepEqual(
      resources
        .filter((r) => r.parent === cluster.urn)
        .map((r) => `${r.type} ${r.name}`)
        .sort(),
      [
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy local-adoption-policy",
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding local-adoption-policy-binding",
        "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition local-crd",
        "kubernetes:core/v1:Namespace local-agent-namespace",
        "kubernetes:helm.sh/v3:Release local-agent",
        "pulumi:providers:kubernetes local-kubernetes",
      ],
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
    const object = byName(resources, "edge-device-1-edgedeployment").inputs as {
      apiVersion: string;
      spec: { deviceId: string; edgeAgent: { modules: Record<string, unknown> } };
    };
    const file = JSON.parse(readFileSync(`${ROOT}deployments/quickstart.json`, "utf8")) as {
      modulesContent: { $edgeAgent: { "properties.desired": unknown } };
    };
    assert.equal(object.apiVersion, "edgek8s.io/v1");
    assert.equal(object.spec.deviceId, "edge-device-1");
    assert.deepEqual(object.spec.edgeAgent, file.modulesContent.$edgeAgent["properties.desired"]);
  });

  it("orders dependencies: the adoption guard first, then the CRD, then namespaces; CRD and namespace before the EdgeDeployment, the namespace before its contents", () => {
    const policy = byName(resources, "local-adoption-policy");
    const guard = byName(resources, "local-adoption-policy-binding");
    const crd = byName(resources, "local-crd");
    assert.ok(guard.dependencies.includes(policy.urn), "the binding waits for its policy");
    assert.ok(crd.dependencies.includes(guard.urn), "the CRD waits for the guard");
    assert.ok(byName(resources, "local-agent-namespace").dependencies.includes(crd.urn), "so after the guard");
    for (const device of ["edge-device-1", "line3-gw"]) {
      const ns = byName(resources, `${device}-namespace`);
      const ed = byName(resources, `${device}-edgedeployment`);
      assert.ok(ns.dependencies.includes(crd.urn), `${device}: the namespace waits for the CRD, so the guard`);
      assert.ok(ed.dependencies.includes(crd.urn), `${device}: EdgeDeployment waits for the CRD`);
      assert.ok(ed.dependencies.includes(ns.urn), `${device}: EdgeDeployment waits for its namespace`);
      for (const r of resources.filter((x) => x.name.startsWith(`${device}-networkpolicy`)))
        assert.ok(r.dependencies.includes(ns.urn), `${r.name} waits for the namespace`);
    }
    const release = byName(resources, "local-agent");
    assert.ok(release.dependencies.includes(byName(resources, "local-agent-namespace").urn));
    assert.ok(release.dependencies.includes(crd.urn));
  });

  it("keeps the kubeconfig secret, in the cluster's one provider, which every Kubernetes resource uses", () => {
    const providers = resources.filter((r) => r.type === "pulumi:providers:kubernetes");
    assert.deepEqual(
      providers.map((p) => p.name),
      ["local-kubernetes"],
    );
    const provider = providers[0]!;
    assert.ok(provider.secretInputs.includes("kubeconfig"), "kubeconfig is secret");
    assert.equal(provider.inputs["kubeconfig"], KUBECONFIG);
    assert.equal(String(provider.inputs["enableServerSideApply"]), "true");
    assert.equal(provider.inputs["clusterIdentifier"], "local");
    assert.deepEqual(
      resources
        .filter((r) => r !== provider && JSON.stringify(r.inputs).includes("must stay secret"))
        .map((r) => r.name),
      [],
      "no other resource holds the kubeconfig",
    );
    const k8sResources = resources.filter((r) => r.type.startsWith("kubernetes:"));
    assert.equal(k8sResources.length, 15);
    for (const r of k8sResources) assert.equal(r.provider, `${provider.urn}::${provider.name}-id`, r.name);
  });

  it("labels every object as the program's, with its field manager, so the adoption policy can tell", () => {
    for (const r of kubernetesObjects(resources)) {
      const { metadata } = objectOf(r);
      assert.equal(metadata.labels?.[MANAGED_BY_LABEL], MANAGED_BY, r.name);
      assert.equal(metadata.annotations?.["pulumi.com/patchFieldManager"], MANAGED_BY, r.name);
      assert.equal(metadata.annotations?.["pulumi.com/deletionPropagationPolicy"], "background", r.name);
    }
    const policy = objectOf(byName(resources, "local-adoption-policy"));
    assert.equal(policy.metadata.name, ADOPTION_POLICY);
    assert.deepEqual(
      (objectOf(byName(resources, "local-adoption-policy-binding")).spec as { policyName: string }).policyName,
      ADOPTION_POLICY,
    );
  });

  it("installs the agent chart once for the cluster from the chart directory, watching every namespace", () => {
    const release = byName(resources, "local-agent");
    assert.equal(release.type, "kubernetes:helm.sh/v3:Release");
    assert.equal(release.inputs["name"], "edgek8s-agent");
    assert.equal(release.inputs["namespace"], "edgek8s-system");
    assert.equal(release.inputs["chart"], AGENT_CHART);
    assert.deepEqual((release.inputs["values"] as { watch: unknown }).watch, { mode: "all" });
    assert.deepEqual((release.inputs["values"] as { hubBridge: unknown }).hubBridge, { enabled: false });
    assert.equal(release.inputs["description"], `edgek8s agent chart sha256:${agentChartDigest()}`);
    assert.match(agentChartDigest(), /^[0-9a-f]{64}$/);
  });
});
