import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseStackConfig, type StackConfig } from "../config.ts";
import { EDGE_HUB_PORTS, deviceNamespaceObjects } from "../namespace.ts";

function config(extra: Record<string, unknown> = {}): StackConfig {
  const result = parseStackConfig({
    hub: { mode: "azure", name: "contoso-edge-dev", resourceGroup: "rg", location: "westeurope" },
    clusters: { west: {} },
    devices: { Line1_GW: { cluster: "west" } },
    ...extra,
  });
  if (!result.ok) assert.fail(JSON.stringify(result.issues));
  return result.config;
}

describe("device namespace objects", () => {
  it("names the namespace msiot-<hub>-<device> and labels it for Pod Security", () => {
    const [ns] = deviceNamespaceObjects(config(), "Line1_GW");
    assert.equal(ns?.metadata.name, "msiot-contoso-edge-dev-line1-gw");
    assert.equal(ns?.metadata.labels?.["pod-security.kubernetes.io/enforce"], "baseline");
    assert.equal(ns?.metadata.labels?.["pod-security.kubernetes.io/warn"], "restricted");
    assert.equal(ns?.metadata.annotations?.["edgek8s.io/device-id"], "Line1_GW");
    assert.equal(ns?.metadata.annotations?.["edgek8s.io/hub"], "contoso-edge-dev.azure-devices.net");
  });

  it("denies ingress by default, admits traffic within the device and to edgeHub's gateway ports only", () => {
    const policies = deviceNamespaceObjects(config(), "Line1_GW").filter((o) => o.kind === "NetworkPolicy");
    assert.deepEqual(
      policies.map((p) => p.metadata.name),
      ["default-deny-ingress", "allow-within-device", "allow-edgehub-gateway"],
    );
    const gateway = policies[2]?.["spec"] as { podSelector: unknown; ingress: { ports: { port: number }[] }[] };
    assert.deepEqual(gateway.podSelector, {
      matchLabels: { "edgek8s.io/device": "line1-gw", "edgek8s.io/module": "edgehub" },
    });
    assert.deepEqual(
      gateway.ingress[0]?.ports.map((p) => p.port),
      [...EDGE_HUB_PORTS],
    );
    for (const p of policies) assert.equal(p.metadata.namespace, "msiot-contoso-edge-dev-line1-gw");
  });

  it("adds the configured ResourceQuota and LimitRange, and nothing when none is configured", () => {
    const withDefaults = deviceNamespaceObjects(
      config({
        namespaceDefaults: {
          podSecurity: "restricted",
          resourceQuota: { "requests.cpu": "4" },
          limitRange: { default: { memory: "256Mi" } },
        },
      }),
      "Line1_GW",
    );
    assert.deepEqual(withDefaults.find((o) => o.kind === "ResourceQuota")?.["spec"], { hard: { "requests.cpu": "4" } });
    assert.deepEqual(withDefaults.find((o) => o.kind === "LimitRange")?.["spec"], {
      limits: [{ type: "Container", default: { memory: "256Mi" } }],
    });
    assert.equal(withDefaults[0]?.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
    const plain = deviceNamespaceObjects(config(), "Line1_GW");
    assert.equal(
      plain.some((o) => o.kind === "ResourceQuota" || o.kind === "LimitRange"),
      false,
    );
  });
});
