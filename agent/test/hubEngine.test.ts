// The hub double's deployment engine: what IoT Hub does with configurations between ticks. Releases
// are created through the real azure-iothub SDK; the engine's clock moves only when a test ticks it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Configuration, Registry } from "azure-iothub";
import { baseContent, layerContent } from "./hub/deployments.ts";
import { HubDouble } from "./hub/hubDouble.ts";
import { registryFor } from "./hub/serviceClient.ts";

type Json = Record<string, unknown>;

function deployment(
  id: string,
  target: string,
  priority: number,
  content: Json,
  metrics: Record<string, string> = {},
): Configuration {
  return {
    id,
    schemaVersion: "1.0",
    labels: {},
    content,
    targetCondition: target,
    priority,
    metrics: { queries: metrics },
  };
}

describe("IoT Hub double: the deployment engine", () => {
  const hub = new HubDouble("engine-hub.azure-devices.net");
  let registry: Registry;
  let service: Registry;
  const notifications: { deviceId: string; moduleId: string; notification: Json }[] = [];
  const agent = (id: string) => hub.moduleOf(id, "$edgeAgent").twin;
  const hubTwin = (id: string) => hub.moduleOf(id, "$edgeHub").twin;
  const modules = (id: string) => Object.keys((agent(id).desired["modules"] as Json | undefined) ?? {}).sort();
  const results = async (id: string) => (await registry.getConfiguration(id)).responseBody;

  before(async () => {
    await hub.start();
    registry = registryFor(hub, "registryReadWrite");
    service = registryFor(hub, "service");
    const tags: Record<string, Json> = {
      w1: { site: "west", camera: true },
      w2: { site: "west" },
      s1: { site: "shop" },
      e1: { site: "east" },
    };
    for (const [id, t] of Object.entries(tags)) hub.addEdgeDevice(id).twin.tags = t;
    hub.onDesired((deviceId, moduleId, notification) => notifications.push({ deviceId, moduleId, notification }));
  });
  after(() => hub.stop());

  it("runs shortly after a change: two base tracks and a layer, merged by priority into the module twins", async () => {
    await registry.addConfiguration(
      deployment("ek8s-factory-aaaaaaaaaaaa", "tags.site='west'", 1, baseContent("sensor:1")),
    );
    await registry.addConfiguration(
      deployment("ek8s-shop-bbbbbbbbbbbb", "tags.site='shop'", 100_001, baseContent("till:1")),
    );
    await registry.addConfiguration(
      deployment(
        "ek8s-vision-cccccccccccc",
        "tags.site='west' AND tags.camera = true",
        1_000_001,
        layerContent("vision", "vision:1"),
        {
          cameras: "SELECT deviceId FROM devices WHERE tags.camera = true",
        },
      ),
    );
    assert.equal(agent("w1").desired.$version, 1, "nothing before the engine runs");
    hub.engine.tick();
    assert.equal(hub.engine.evaluations, 1);
    assert.deepEqual(modules("w1"), ["sensor", "vision"]);
    assert.deepEqual(Object.keys(hubTwin("w1").desired["routes"] as Json).sort(), ["upstream", "visionToUpstream"]);
    assert.deepEqual(modules("w2"), ["sensor"]);
    assert.match(JSON.stringify(agent("s1").desired), /till:1/);
    assert.equal(agent("e1").desired.$version, 1, "an untargeted device is left alone");
    assert.equal(agent("w1").desired.$version, 2);
    assert.deepEqual(agent("w1").configurations, {
      "ek8s-factory-aaaaaaaaaaaa": { status: "Applied" },
      "ek8s-vision-cccccccccccc": { status: "Applied" },
    });
    const agentNote = notifications.find((n) => n.deviceId === "w1" && n.moduleId === "$edgeAgent");
    assert.equal(agentNote?.notification["$version"], 2, "a connected module is sent the whole new document");
    assert.ok(agentNote?.notification["modules"]);
    const twin = (await service.getModuleTwin("w1", "$edgeAgent")).responseBody as unknown as Json;
    assert.deepEqual(Object.keys(twin["configurations"] as Json).sort(), [
      "ek8s-factory-aaaaaaaaaaaa",
      "ek8s-vision-cccccccccccc",
    ]);
  });

  it("counts the system and custom metrics with IoT Hub's own queries, 406 among the failed", async () => {
    const factory = await results("ek8s-factory-aaaaaaaaaaaa");
    assert.deepEqual(factory.systemMetrics?.results, {
      targetedCount: 2,
      appliedCount: 2,
      reportedSuccessfulCount: 0,
      reportedFailedCount: 0,
    });
    assert.deepEqual((await results("ek8s-vision-cccccccccccc")).metrics?.results, { cameras: 1 });
    agent("w1").reported = { $version: 2, lastDesiredVersion: 2, lastDesiredStatus: { code: 200 } };
    agent("w2").reported = { $version: 2, lastDesiredVersion: 2, lastDesiredStatus: { code: 406 } };
    hub.engine.tick(3);
    assert.equal((await results("ek8s-factory-aaaaaaaaaaaa")).systemMetrics?.results?.["reportedSuccessfulCount"], 0);
    hub.engine.tick(1);
    assert.equal(hub.engine.evaluations, 2, "then every five ticks");
    assert.deepEqual((await results("ek8s-factory-aaaaaaaaaaaa")).systemMetrics?.results, {
      targetedCount: 2,
      appliedCount: 2,
      reportedSuccessfulCount: 1,
      reportedFailedCount: 1,
    });
  });

  it("gives a device the higher priority release, marks the outranked one Targeted; '' targets nothing", async () => {
    await registry.addConfiguration(deployment("ek8s-factory-dddddddddddd", "", 2, baseContent("sensor:2")));
    hub.engine.tick();
    assert.equal((await results("ek8s-factory-dddddddddddd")).systemMetrics?.results?.["targetedCount"], 0);
    const { responseBody: candidate } = await registry.getConfiguration("ek8s-factory-dddddddddddd");
    await registry.updateConfiguration({ ...candidate, targetCondition: "tags.site='west' AND deviceId = 'w2'" });
    hub.engine.tick();
    assert.match(JSON.stringify(agent("w2").desired), /sensor:2/);
    assert.match(JSON.stringify(agent("w1").desired), /sensor:1/);
    assert.deepEqual(agent("w2").configurations, {
      "ek8s-factory-aaaaaaaaaaaa": { status: "Targeted" },
      "ek8s-factory-dddddddddddd": { status: "Applied" },
    });
    const versions = agent("w2").desired.$version;
    await registry.updateConfiguration({ ...(await results("ek8s-factory-dddddddddddd")), targetCondition: "" });
    hub.engine.tick();
    assert.match(JSON.stringify(agent("w2").desired), /sensor:1/, "un-targeted: back to the next priority down");
    assert.equal(agent("w2").desired.$version, versions + 1, "a rollback bumps $version too");
  });

  it("moves a device whose tags change, at the next periodic run", async () => {
    await service.updateTwin("s1", { tags: { site: "west" } }, "*");
    const before = hub.engine.evaluations;
    hub.engine.tick(1);
    assert.equal(hub.engine.evaluations, before, "a tag change forces no run");
    assert.match(JSON.stringify(agent("s1").desired), /till:1/);
    hub.engine.tick(4);
    assert.match(JSON.stringify(agent("s1").desired), /sensor:1/);
    assert.deepEqual(agent("s1").configurations, { "ek8s-factory-aaaaaaaaaaaa": { status: "Applied" } });
  });

  it("leaves an un-targeted layer's module in place (Azure/iotedge#7057) unless switched; a deleted layer goes", async () => {
    hub.devices.get("w1")!.twin.tags = { site: "west", camera: false };
    hub.engine.tick(5);
    assert.deepEqual(modules("w1"), ["sensor", "vision"], "keep: removing the tag won't work");
    assert.deepEqual(agent("w1").configurations, { "ek8s-factory-aaaaaaaaaaaa": { status: "Applied" } });
    hub.devices.get("w1")!.twin.tags = { site: "west", camera: true };
    hub.engine.tick(5);
    hub.settings.layerUntarget = "reapply";
    try {
      hub.devices.get("w1")!.twin.tags = { site: "west", camera: false };
      hub.engine.tick(5);
      assert.deepEqual(modules("w1"), ["sensor"], "reapply: base and the remaining layers");
    } finally {
      hub.settings.layerUntarget = "keep";
    }
    hub.devices.get("w1")!.twin.tags = { site: "west", camera: true };
    hub.engine.tick(5);
    assert.deepEqual(modules("w1"), ["sensor", "vision"]);
    await registry.removeConfiguration("ek8s-vision-cccccccccccc");
    hub.engine.tick();
    assert.deepEqual(modules("w1"), ["sensor"], "deleting a layer re-applies the rest (azure-docs#86837)");
  });

  it("shows a layer without $edgeAgent content as Targeted, never Applied", async () => {
    const routeOnly = {
      modulesContent: { $edgeAgent: {}, $edgeHub: { "properties.desired.routes.extra": "FROM /x INTO $upstream" } },
    };
    await registry.addConfiguration(deployment("ek8s-routes-eeeeeeeeeeee", "deviceId = 'w2'", 1_100_001, routeOnly));
    hub.engine.tick();
    assert.equal(agent("w2").configurations?.["ek8s-routes-eeeeeeeeeeee"]?.status, "Targeted");
    assert.ok((hubTwin("w2").desired["routes"] as Json)["extra"], "its content is merged all the same");
    assert.equal((await results("ek8s-routes-eeeeeeeeeeee")).systemMetrics?.results?.["appliedCount"], 0);
  });

  it("gives a module twin whose identity appears later its part at the next run, leaving the other twins alone", async () => {
    hub.addEdgeDevice("n1").twin.tags = { site: "north" };
    const content = baseContent("sensor:3");
    (content["modulesContent"] as Json)["sensor"] = { "properties.desired": { interval: 5 } };
    await registry.addConfiguration(deployment("ek8s-north-ffffffffffff", "tags.site='north'", 1, content));
    hub.engine.tick();
    assert.match(JSON.stringify(agent("n1").desired), /sensor:3/);
    const agentVersion = agent("n1").desired.$version;
    await registry.addModule({ deviceId: "n1", moduleId: "sensor" });
    hub.engine.tick(5);
    assert.deepEqual(hub.moduleOf("n1", "sensor").twin.desired, { interval: 5, $version: 2 });
    assert.equal(agent("n1").desired.$version, agentVersion, "$edgeAgent is not rewritten");
  });
});
