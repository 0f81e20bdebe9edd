import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { contentHash12 } from "@edgek8s/agent";
import type { LiveEdgeRelease } from "../localReleases.ts";
import { defineStack } from "../stack.ts";
import { ROOT, byName, inputs, objectOf } from "./fixtures.ts";
import { runMocked } from "./mocks.ts";

const content = (path: string) =>
  (JSON.parse(readFileSync(`${ROOT}${path}`, "utf8")) as { modulesContent: Record<string, never> }).modulesContent;

/** A local stack with a base track, a second base track and a layer, its devices in tracks by their tags. */
const LOCAL_TRACKS = {
  hub: { mode: "none" },
  clusters: { local: { kubeconfig: ".state/cluster/kubeconfig" } },
  devices: {
    "edge-device-1": { cluster: "local", tags: { class: "sensor" } },
    "line3-gw": { cluster: "local", tags: { class: "gateway", camera: true } },
    "own-gw": { cluster: "local", manifest: "deployments/quickstart.json", tags: { class: "printer" } },
  },
  tracks: {
    sensor: { manifest: "deployments/quickstart.json", target: "tags.class='sensor'" },
    gateway: { manifest: "deployments/factory-gateway.json", target: "tags.class='gateway'", retain: 1 },
    vision: { manifest: "infra/test/tracks/vision-layer.json", target: "tags.camera = true", layer: true },
  },
};

const gatewayId = `ek8s-gateway-${contentHash12(content("deployments/factory-gateway.json"))}`;
const sensorId = `ek8s-sensor-${contentHash12(content("deployments/quickstart.json"))}`;
const visionId = `ek8s-vision-${contentHash12(content("infra/test/tracks/vision-layer.json"))}`;

const labelsOf = (track: string, hash: string, seq: number, extra: Record<string, string> = {}) => ({
  "edgek8s.managed": "true",
  "edgek8s.stack": "edgek8s.test",
  "edgek8s.track": track,
  "edgek8s.hash": hash,
  "edgek8s.seq": String(seq),
  ...extra,
});

describe("the Pulumi program under mocks: a local stack with tracks", async () => {
  const fresh = await runMocked(() => defineStack(inputs(LOCAL_TRACKS)));
  const releases = (rs: typeof fresh.resources) => rs.filter((r) => objectOf(r).kind === "EdgeRelease");

  it("on a fresh cluster: the EdgeRelease CRD and one release per track, named by its id, stable on its target", () => {
    assert.equal(objectOf(byName(fresh.resources, "local-release-crd")).metadata.name, "edgereleases.edgek8s.io");
    assert.deepEqual(
      releases(fresh.resources)
        .map((r) => r.name)
        .sort(),
      [`local-${gatewayId}`, `local-${sensorId}`, `local-${visionId}`],
    );
    const gateway = objectOf(byName(fresh.resources, `local-${gatewayId}`));
    assert.deepEqual(gateway.spec, {
      track: "gateway",
      layer: false,
      priority: 1,
      targetCondition: "tags.class='gateway'",
      modulesContent: content("deployments/factory-gateway.json"),
      // No rollout label, not even the state: the rollout owns those (a release without one that
      // targets devices is Stable).
      labels: labelsOf("gateway", gatewayId.slice(-12), 1),
    });
    assert.equal(gateway.metadata.labels?.["app.kubernetes.io/managed-by"], "edgek8s-pulumi");
    const vision = objectOf(byName(fresh.resources, `local-${visionId}`)).spec as { priority: number; layer: boolean };
    assert.deepEqual([vision.layer, vision.priority], [true, 1_000_000]);
    const crd = byName(fresh.resources, "local-release-crd");
    for (const r of releases(fresh.resources)) assert.ok(r.dependencies.includes(crd.urn), r.name);
  });

  it("keeps a content with a registry password out of the state's plain text", () => {
    const gateway = byName(fresh.resources, `local-${gatewayId}`);
    assert.ok(
      gateway.secretPaths.some((p) => p === "spec" || p.startsWith("spec")),
      gateway.secretPaths.join(),
    );
    assert.ok(!byName(fresh.resources, `local-${sensorId}`).secretPaths.some((p) => p.startsWith("spec")));
  });

  it("puts each device's tags and bucket on its namespace, and gives a device in a track an EdgeDeployment without content", () => {
    const ns = objectOf(byName(fresh.resources, "line3-gw-namespace"));
    const tags = JSON.parse(ns.metadata.annotations?.["edgek8s.io/tags"] ?? "{}") as Record<string, unknown>;
    assert.equal(tags["class"], "gateway");
    assert.equal(typeof (tags["edgek8s"] as { bucket: number }).bucket, "number");
    assert.deepEqual(objectOf(byName(fresh.resources, "line3-gw-edgedeployment")).spec, {
      deviceId: "line3-gw",
      hubHostName: "local-hub.azure-devices.net",
    });
    const own = objectOf(byName(fresh.resources, "own-gw-edgedeployment")).spec as Record<string, unknown>;
    assert.ok(own["edgeAgent"] !== undefined, "a device with its own manifest keeps today's behaviour");
  });

  it("turns the agent's release engine on", () => {
    const agent = byName(fresh.resources, "local-agent").inputs as { values: Record<string, unknown> };
    assert.deepEqual(agent.values["releaseEngine"], { enabled: true });
  });

  // The cluster after a rollout: gateway's release #1 superseded, #2 stable (the rollout's labels and
  // target), #3 rolled back; Pulumi's manifest is #2's content again, so nothing new is made.
  const old = (seq: number, state: string, target: string): LiveEdgeRelease => ({
    id: `ek8s-gateway-00000000000${String(seq)}`,
    labels: labelsOf("gateway", `00000000000${String(seq)}`, seq, { "edgek8s.state": state }),
    targetCondition: target,
    priority: seq,
    metrics: {},
    modulesContent: { $edgeAgent: { "properties.desired.modules.m": { seq } } },
  });
  const live: LiveEdgeRelease[] = [
    old(1, "Superseded", ""),
    { ...old(2, "Stable", "tags.class='gateway' AND tags.site='x'"), id: gatewayId },
    old(3, "RolledBack", ""),
    old(4, "Superseded", ""),
  ];
  live[1] = { ...live[1]!, labels: labelsOf("gateway", gatewayId.slice(-12), 5, { "edgek8s.state": "Stable" }) };
  const later = await runMocked(() => defineStack(inputs(LOCAL_TRACKS), new Map([["local", live]])));

  it("after a rollout: keeps `retain` superseded releases, drops the rolled-back one, and declares no rollout label", () => {
    const names = releases(later.resources)
      .filter((r) => objectOf(r).metadata.name.startsWith("ek8s-gateway"))
      .map((r) => objectOf(r).metadata.name)
      .sort();
    assert.deepEqual(names, ["ek8s-gateway-000000000004", gatewayId]);
    for (const r of releases(later.resources)) {
      const labels = (objectOf(r).spec as { labels: Record<string, string> }).labels;
      assert.deepEqual(
        Object.keys(labels).filter((k) => /state|ring|since|reason/.test(k)),
        [],
        r.name,
      );
    }
    // Old content comes from the cluster, not the manifest.
    const kept = objectOf(byName(later.resources, "local-ek8s-gateway-000000000004")).spec as Record<string, unknown>;
    assert.deepEqual(kept["modulesContent"], old(4, "Superseded", "").modulesContent);
    assert.equal(kept["targetCondition"], "");
  });

  it("moves the Stable release's target to the track's, and leaves every other target to the rollout", () => {
    const stable = objectOf(byName(later.resources, `local-${gatewayId}`)).spec as Record<string, unknown>;
    assert.equal(stable["targetCondition"], "tags.class='gateway'");
    assert.equal(stable["priority"], 5);
  });
});
