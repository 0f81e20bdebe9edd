import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { admits } from "./networkPolicy.ts";
import { parseStackConfig, type StackConfig } from "../config.ts";
import { EDGE_HUB_PORTS, deviceNamespaceObjects } from "../namespace.ts";

function config(): StackConfig {
  const result = parseStackConfig({
    hub: { mode: "none" },
    clusters: { local: {} },
    devices: {
      "line1-gw": { cluster: "local", manifest: "deployments/quickstart.json" },
      "line2-gw": { cluster: "local", manifest: "deployments/quickstart.json" },
    },
  });
  if (!result.ok) assert.fail(JSON.stringify(result.issues));
  return result.config;
}

/** A module pod as the agent labels it (translate/labels.ts: managed-by, name, device, module). */
function pod(namespace: string, device: string, module: string) {
  return {
    namespace,
    labels: {
      "app.kubernetes.io/managed-by": "edgek8s-agent",
      "app.kubernetes.io/name": module,
      "edgek8s.io/device": device,
      "edgek8s.io/module": module,
    },
  };
}

describe("device NetworkPolicies: Docker-network parity within the device, and nothing more", () => {
  const cfg = config();
  const line1 = deviceNamespaceObjects(cfg, "line1-gw");
  const line2 = deviceNamespaceObjects(cfg, "line2-gw");
  const policies = [...line1, ...line2];
  const ns1 = line1[0]!.metadata.name;
  const ns2 = line2[0]!.metadata.name;
  const modules = ["edgehub", "rtspsim", "classifier", "opc-publisher", "metricscollector"];
  const ports = [80, 554, 1883, 4840, 9600, 50000, 8883, 5671, 443];

  it("admits every module of the device to every other, on any port, TCP and UDP", () => {
    for (const from of modules) {
      for (const to of modules) {
        for (const port of ports) {
          assert.ok(
            admits(policies, pod(ns1, "line1-gw", from), pod(ns1, "line1-gw", to), port),
            `${from} → ${to}:${port}`,
          );
        }
      }
    }
    assert.ok(
      admits(
        policies,
        pod(ns1, "line1-gw", "lorawannetworksrvmodule"),
        pod(ns1, "line1-gw", "lorawanpktfwdmodule"),
        1680,
        "UDP",
      ),
    );
  });

  it("admits anyone to edgeHub's gateway ports (downstream devices), and to nothing else", () => {
    const outside = { namespace: undefined, labels: {} };
    for (const port of EDGE_HUB_PORTS) assert.ok(admits(policies, outside, pod(ns1, "line1-gw", "edgehub"), port));
    assert.equal(admits(policies, outside, pod(ns1, "line1-gw", "edgehub"), 9600), false);
    assert.equal(admits(policies, outside, pod(ns1, "line1-gw", "rtspsim"), 554), false);
  });

  it("keeps devices apart: another device's modules reach only edgeHub's gateway ports", () => {
    const other = pod(ns2, "line2-gw", "classifier");
    assert.equal(admits(policies, other, pod(ns1, "line1-gw", "classifier"), 80), false);
    assert.equal(admits(policies, other, pod(ns1, "line1-gw", "edgehub"), 9600), false);
    assert.ok(admits(policies, other, pod(ns1, "line1-gw", "edgehub"), 8883));
  });

  it("does not open the device to other pods put in its namespace", () => {
    const stranger = { namespace: ns1, labels: { app: "debug-shell" } };
    assert.equal(admits(policies, stranger, pod(ns1, "line1-gw", "classifier"), 80), false);
  });
});
