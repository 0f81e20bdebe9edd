import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { admits } from "./networkPolicy.ts";
import { parseStackConfig, type StackConfig } from "../config.ts";
import { EDGE_HUB_PORTS, deviceNamespaceObjects } from "../namespace.ts";
import { MAX_PUBLISHED_PORTS, publishedPortNames } from "@edgek8s/agent";
import { manifest, userModule } from "../../agent/test/fixtures/manifests.ts";
import { DEVICE, HUB_HOST, NAMESPACE, deployment, render } from "../../agent/test/fixtures/render.ts";

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

describe("published ports: what a module's PortBindings publish is open from outside, and nothing else of it", () => {
  const result = parseStackConfig({
    hub: { mode: "none", hostName: HUB_HOST },
    clusters: { local: {} },
    devices: { [DEVICE]: { cluster: "local", manifest: "deployments/quickstart.json" } },
  });
  if (!result.ok) assert.fail(JSON.stringify(result.issues));
  const policies = deviceNamespaceObjects(result.config, DEVICE);
  // The agent's own translation of a manifest: the pods' labels and named container ports are real.
  const translation = render(
    manifest({
      modules: {
        rtspsim: userModule("mcr.microsoft.com/lva-utilities/rtspsim-live555:1.2", {
          ExposedPorts: { "8080/tcp": {} },
          HostConfig: { PortBindings: { "554/tcp": [{ HostPort: "8554" }] } },
        }),
        pktfwd: userModule("loraedge/lorawanpktfwdmodule:2.0", {
          HostConfig: { PortBindings: { "1680/udp": [{ HostPort: "1680" }] } },
        }),
      },
    }),
  );
  const podOf = (name: string) => {
    const template = deployment(translation, name).spec?.template;
    return {
      namespace: NAMESPACE,
      labels: template?.metadata?.labels ?? {},
      ports: template?.spec?.containers[0]?.ports ?? [],
    };
  };
  const outside = { namespace: undefined, labels: {} };

  it("the device's namespace is the one the agent translates into", () => {
    assert.equal(policies[0]!.metadata.name, NAMESPACE);
  });

  it("admits anyone to a published container port, TCP or UDP", () => {
    assert.ok(admits(policies, outside, podOf("rtspsim"), 554));
    assert.ok(admits(policies, outside, podOf("pktfwd"), 1680, "UDP"));
  });

  it("keeps a module's other ports closed to the outside, and a published port's other protocol", () => {
    assert.equal(admits(policies, outside, podOf("rtspsim"), 8080), false);
    assert.equal(admits(policies, outside, podOf("rtspsim"), 554, "UDP"), false);
    assert.equal(admits(policies, outside, podOf("edgehub"), 9600), false);
  });

  it("a module past the policy's named ports is warned about, naming the binding", () => {
    const bindings = Object.fromEntries(
      Array.from({ length: MAX_PUBLISHED_PORTS + 1 }, (_, i) => [
        `${String(9000 + i)}/tcp`,
        [{ HostPort: String(9000 + i) }],
      ]),
    );
    const many = render(
      manifest({
        modules: { web: userModule("contoso.azurecr.io/web:1", { HostConfig: { PortBindings: bindings } }) },
      }),
    );
    const names = deployment(many, "web").spec?.template.spec?.containers[0]?.ports?.map((p) => p.name);
    assert.deepEqual(names?.slice(0, MAX_PUBLISHED_PORTS), publishedPortNames());
    assert.equal(names?.at(-1), `tcp-${String(9000 + MAX_PUBLISHED_PORTS)}`);
    assert.ok(
      many.warnings.some(
        (w) => w.path.includes(`${String(9000 + MAX_PUBLISHED_PORTS)}/tcp`) && /NetworkPolicy/.test(w.message),
      ),
      JSON.stringify(many.warnings),
    );
  });
});
