import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Device, type Release, planReleases } from "../src/releases/engine.ts";

const desired = (image: string, extra: Record<string, unknown> = {}) => ({
  schemaVersion: "1.1",
  runtime: { type: "docker", settings: {} },
  systemModules: { edgeAgent: { type: "docker", settings: { image: "agent:1.5" } } },
  modules: { sensor: { type: "docker", status: "running", restartPolicy: "always", settings: { image } }, ...extra },
});

function base(id: string, priority: number, target: string, image: string): Release {
  return {
    id,
    priority,
    createdTimeUtc: "2026-01-01T00:00:00Z",
    layer: false,
    targetCondition: target,
    modulesContent: {
      $edgeAgent: { "properties.desired": desired(image) },
      $edgeHub: { "properties.desired": { schemaVersion: "1.1", routes: {} } },
    },
  };
}

function device(deviceId: string, tags: Record<string, unknown>, current?: { version: number; image: string }): Device {
  return {
    deviceId,
    key: `msiot-local-hub-${deviceId}/${deviceId}`,
    tags: tags as Device["tags"],
    desiredVersion: current?.version,
    edgeAgent: current ? desired(current.image) : undefined,
    edgeHub: current ? { schemaVersion: "1.1", routes: {} } : undefined,
  };
}

describe("release engine plan", () => {
  const factory = base("ek8s-factory-aaaaaaaaaaaa", 1, "tags.site = 'west'", "sensor:1");
  const candidate = base("ek8s-factory-bbbbbbbbbbbb", 2, "tags.site = 'west' AND tags.ring = 'canary'", "sensor:2");
  const shop = base("ek8s-shop-cccccccccccc", 100_001, "tags.site = 'shop'", "till:1");

  it("gives each targeted device its highest-priority release and bumps its desired version", () => {
    const plan = planReleases(
      [factory, candidate, shop],
      [
        device("gw-1", { site: "west", ring: "canary" }),
        device("gw-2", { site: "west" }),
        device("till-1", { site: "shop" }),
      ],
    );
    const images = new Map(plan.updates.map((u) => [u.deviceId, JSON.stringify(u.edgeAgent)]));
    assert.match(images.get("gw-1")!, /sensor:2/);
    assert.match(images.get("gw-2")!, /sensor:1/);
    assert.match(images.get("till-1")!, /till:1/);
    assert.deepEqual(
      plan.updates.map((u) => u.desiredVersion),
      [1, 1, 1],
    );
    assert.deepEqual(plan.releases.get(factory.id), { applied: ["gw-2"], targeted: ["gw-1"] });
    assert.deepEqual(plan.releases.get(candidate.id), { applied: ["gw-1"], targeted: [] });
  });

  it("writes nothing for a device that already runs what it should (idempotent)", () => {
    const plan = planReleases([factory], [device("gw-2", { site: "west" }, { version: 4, image: "sensor:1" })]);
    assert.deepEqual(plan.updates, []);
    assert.deepEqual(plan.releases.get(factory.id)?.applied, ["gw-2"]);
  });

  it("moves a device when its tags change, with a new desired version", () => {
    const plan = planReleases(
      [factory, candidate],
      [device("gw-2", { site: "west", ring: "canary" }, { version: 4, image: "sensor:1" })],
    );
    assert.equal(plan.updates.length, 1);
    assert.equal(plan.updates[0]!.desiredVersion, 5);
    assert.match(JSON.stringify(plan.updates[0]!.edgeAgent), /sensor:2/);
  });

  it("leaves a device no release targets exactly as it is (IoT Hub: no change)", () => {
    const plan = planReleases([factory], [device("other", { site: "east" }, { version: 3, image: "mine:1" })]);
    assert.deepEqual(plan.updates, []);
    assert.deepEqual(plan.releases.get(factory.id), { applied: [], targeted: [] });
  });

  it("an empty target condition targets nothing (a staged candidate)", () => {
    const staged = { ...candidate, targetCondition: "" };
    const plan = planReleases([factory, staged], [device("gw-1", { site: "west", ring: "canary" })]);
    assert.match(JSON.stringify(plan.updates[0]!.edgeAgent), /sensor:1/);
    assert.deepEqual(plan.releases.get(staged.id), { applied: [], targeted: [] });
  });

  it("merges a layer on top of the base for the devices it targets", () => {
    const camera = {
      id: "ek8s-vision-dddddddddddd",
      priority: 1_000_001,
      createdTimeUtc: "2026-01-02T00:00:00Z",
      layer: true,
      targetCondition: "tags.camera = true",
      modulesContent: {
        $edgeAgent: {
          "properties.desired.modules.camera": {
            type: "docker",
            status: "running",
            restartPolicy: "always",
            settings: { image: "cam:1" },
          },
        },
      },
    } as Release;
    const plan = planReleases(
      [factory, camera],
      [device("gw-1", { site: "west", camera: true }), device("gw-2", { site: "west" })],
    );
    const byDevice = new Map(
      plan.updates.map((u) => [u.deviceId, u.edgeAgent as { modules: Record<string, unknown> }]),
    );
    assert.deepEqual(Object.keys(byDevice.get("gw-1")!.modules).sort(), ["camera", "sensor"]);
    assert.deepEqual(Object.keys(byDevice.get("gw-2")!.modules), ["sensor"]);
    assert.deepEqual(plan.releases.get(camera.id)?.applied, ["gw-1"]);
  });

  it("a target condition that does not parse targets nothing and says why", () => {
    const broken = { ...candidate, targetCondition: "tags.site = = 'west'" };
    const plan = planReleases([factory, broken], [device("gw-1", { site: "west", ring: "canary" })]);
    assert.match(
      plan.releases.get(broken.id)!.conditionError!,
      /^targetCondition: expected a value.* at character 13$/,
    );
    assert.match(JSON.stringify(plan.updates[0]!.edgeAgent), /sensor:1/);
  });
});
