import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { deviceBucket } from "@edgek8s/agent";
import { HUB_POLICIES, policyRightsProblem } from "../components/hub.ts";
import { defineStack } from "../stack.ts";
import { AZURE, byName, inputs, objectOf } from "./fixtures.ts";
import { runMocked, valueOf } from "./mocks.ts";

describe("the Pulumi program under mocks: Azure hub, an agent per device", async () => {
  const { result, resources, invokes } = await runMocked(() => defineStack(inputs(AZURE)));

  it("creates the resource group and a Standard IoT Hub, and reads the registryReadWrite and service keys", () => {
    const hub = resources.find((r) => r.type === "azure-native:iothub:IotHubResource");
    assert.deepEqual(hub?.inputs["sku"], { name: "S1", capacity: 1 });
    assert.equal(hub?.inputs["resourceName"], "contoso-edge-dev");
    assert.equal(
      hub?.inputs["authorizationPolicies"],
      undefined,
      "declaring policies would replace the hub's defaults",
    );
    assert.ok(resources.some((r) => r.type === "azure-native:resources:ResourceGroup"));
    assert.deepEqual(invokes.map((i) => [i.token, i.inputs["keyName"]]).sort(), [
      ["azure-native:iothub:listIotHubResourceKeysForKeyName", "registryReadWrite"],
      ["azure-native:iothub:listIotHubResourceKeysForKeyName", "service"],
    ]);
  });

  it("creates IoT Edge identities with tags: the identity with the registryReadWrite key, tags with the service key", () => {
    const identity = byName(resources, "line1-gw-identity");
    assert.equal(identity.inputs["deviceId"], "line1-gw");
    assert.deepEqual(identity.inputs["tags"], {
      ring: "canary",
      line: 1,
      edgek8s: { bucket: deviceBucket("line1-gw") },
    });
    assert.deepEqual(byName(resources, "line2-gw-identity").inputs["tags"], {
      edgek8s: { bucket: deviceBucket("line2-gw") },
    });
    assert.equal(identity.inputs["owner"], "edgek8s/test");
    for (const input of ["hubConnectionString", "twinConnectionString"])
      assert.ok(identity.secretInputs.includes(input));
    const key = (name: string) => Buffer.from(`key-of-${name}`).toString("base64");
    assert.equal(
      identity.inputs["hubConnectionString"],
      `HostName=contoso-edge-dev.azure-devices.net;SharedAccessKeyName=registryReadWrite;SharedAccessKey=${key("registryReadWrite")}`,
    );
    assert.equal(
      identity.inputs["twinConnectionString"],
      `HostName=contoso-edge-dev.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${key("service")}`,
    );
    assert.equal(byName(resources, "line2-gw-identity").inputs["hubHostName"], "contoso-edge-dev.azure-devices.net");
  });

  it("refuses a policy whose rights no longer cover its calls", () => {
    assert.equal(policyRightsProblem("service", HUB_POLICIES.twins.rights, "ServiceConnect"), undefined);
    assert.equal(
      policyRightsProblem("registryReadWrite", HUB_POLICIES.registry.rights, "RegistryRead, RegistryWrite"),
      undefined,
    );
    assert.match(
      policyRightsProblem("service", HUB_POLICIES.twins.rights, "RegistryRead") ?? "",
      /policy service lacks ServiceConnect/,
    );
  });

  it("writes each device's own connection string into a Secret in its namespace, secret in the state, after the namespace", () => {
    const secret = byName(resources, "line1-gw-credentials");
    assert.equal(secret.type, "kubernetes:core/v1:Secret");
    assert.deepEqual(secret.secretPaths, ["stringData"], "the connection string is a secret input");
    const object = secret.inputs as { metadata: { namespace: string }; stringData: Record<string, string> };
    assert.equal(object.metadata.namespace, "msiot-contoso-edge-dev-line1-gw");
    assert.match(
      object.stringData["connectionString"] ?? "",
      /^HostName=contoso-edge-dev\.azure-devices\.net;DeviceId=line1-gw;SharedAccessKey=/,
    );
    assert.ok(!("SharedAccessKeyName" in object.stringData), "no hub-wide policy key on the edge");
    assert.ok(secret.dependencies.includes(byName(resources, "line1-gw-namespace").urn));
  });

  it("keeps every kubeconfig and key secret: the provider's kubeconfig, the hub key, device keys", () => {
    const provider = byName(resources, "plant-west-kubernetes");
    assert.ok(provider.secretInputs.includes("kubeconfig"));
    for (const id of ["line1-gw", "line2-gw"]) {
      assert.ok(byName(resources, `${id}-identity`).secretInputs.includes("hubConnectionString"));
      assert.deepEqual(byName(resources, `${id}-credentials`).secretPaths, ["stringData"]);
    }
    // Everything a resource sends that is not marked secret (its secret inputs here are top-level ones).
    const plain = (r: (typeof resources)[number]) =>
      JSON.stringify(Object.entries(r.inputs).filter(([key]) => !r.secretInputs.includes(key)));
    for (const r of resources)
      assert.doesNotMatch(
        plain(r),
        /SharedAccessKey=|must stay secret/,
        `${r.type} ${r.name} holds a key in plain text`,
      );
  });

  it("exports connection strings only as secrets", async () => {
    assert.equal(await pulumi.isSecret(result.deviceConnectionStrings), true);
    const values = await valueOf(result.deviceConnectionStrings);
    assert.deepEqual(Object.keys(values).sort(), ["line1-gw", "line2-gw"]);
  });

  it("installs an agent release in each device namespace, watching only that namespace; no EdgeDeployment objects", () => {
    const release = byName(resources, "line2-gw-agent");
    assert.equal(release.inputs["namespace"], "msiot-contoso-edge-dev-line2-gw");
    assert.deepEqual((release.inputs["values"] as { watch: unknown }).watch, {
      mode: "namespaces",
      namespaces: ["msiot-contoso-edge-dev-line2-gw"],
    });
    assert.deepEqual((release.inputs["values"] as { hubBridge: unknown }).hubBridge, { enabled: true });
    assert.equal(resources.filter((r) => r.name.endsWith("-edgedeployment")).length, 0);
    assert.equal(resources.filter((r) => r.name === "plant-west-agent").length, 0);
    assert.equal(objectOf(byName(resources, "line2-gw-resourcequota-device-quota")).kind, "ResourceQuota");
    assert.equal(release.type, "kubernetes:helm.sh/v3:Release");
    assert.equal(release.provider.split("::").slice(0, -1).join("::"), byName(resources, "plant-west-kubernetes").urn);
    assert.ok(release.dependencies.includes(byName(resources, "line2-gw-namespace").urn));
    assert.ok(release.dependencies.includes(byName(resources, "plant-west-crd").urn));
  });
});
