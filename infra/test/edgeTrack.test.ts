// The EdgeTrack provider's work against the IoT Hub double, through the real azure-iothub SDK: the
// hub's deployment engine is ticked to show what devices get.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Registry } from "azure-iothub";
import { releaseId } from "@edgek8s/agent";
import { baseContent } from "../../agent/test/hub/deployments.ts";
import { HubDouble } from "../../agent/test/hub/hubDouble.ts";
import { registryFor } from "../../agent/test/hub/serviceClient.ts";
import { type EdgeTrackInputs, applyTrack, deleteTrack, diffEdgeTrack } from "../providers/edgeTrackOps.ts";
import type { RetryClock } from "../providers/hubRetry.ts";

type Content = EdgeTrackInputs["modulesContent"];

function fakeClock(): RetryClock & { delays: number[]; onSleep?: () => void } {
  let now = 0;
  const clock: RetryClock & { delays: number[]; onSleep?: () => void } = {
    delays: [],
    now: () => now,
    random: () => 0.5,
    sleep: (ms) => {
      clock.delays.push(ms);
      now += ms;
      clock.onSleep?.();
      return Promise.resolve();
    },
  };
  return clock;
}

describe("EdgeTrack releases on IoT Hub (the hub double, through the real SDK)", () => {
  const hub = new HubDouble("tracks-hub.azure-devices.net");
  let registry: Registry;
  const clock = fakeClock();
  const client = () => ({ registry, retry: { budgetMs: 600_000, clock } });
  const inputs = (image: string, extra: Partial<EdgeTrackInputs> = {}): EdgeTrackInputs => ({
    hubConnectionString: hub.policyConnectionString("registryReadWrite"),
    hubHostName: hub.hostName,
    stackId: "edgek8s.prod",
    track: "factory",
    layer: false,
    trackIndex: 0,
    target: "tags.site='west'",
    stagedTarget: "",
    modulesContent: baseContent(image)["modulesContent"] as Content,
    metrics: { sensors: "SELECT deviceId FROM devices.modules WHERE moduleId = 'sensor'" },
    retain: 1,
    retryBudgetSeconds: 600,
    ...extra,
  });
  const idOf = (image: string) => releaseId("factory", inputs(image).modulesContent);
  const sensorImage = (deviceId: string) =>
    JSON.stringify(hub.moduleOf(deviceId, "$edgeAgent").twin.desired["modules"]);
  const labels = (id: string) => hub.configurations.get(id)?.labels ?? {};
  /** What the rollout driver would write: a candidate's target and its state labels. */
  const rollout = (id: string, target: string, state: Record<string, string>) => {
    const c = hub.configurations.get(id)!;
    c.targetCondition = target;
    c.labels = { ...c.labels, ...state };
  };

  before(async () => {
    await hub.start();
    registry = registryFor(hub, "registryReadWrite");
    for (const id of ["w1", "w2", "w3"]) hub.addEdgeDevice(id).twin.tags = { site: "west" };
    hub.addEdgeDevice("e1").twin.tags = { site: "east" };
  });
  after(() => hub.stop());

  it("creates release #1 as the stable one, targeting the track, with edgek8s's labels, priority and metrics", async () => {
    const start = hub.requests.length;
    const out = await applyTrack(client(), inputs("sensor:1"));
    const id = idOf("sensor:1");
    assert.deepEqual([out.releaseId, out.stableId, out.candidateId], [id, id, ""]);
    const c = hub.configurations.get(id)!;
    assert.equal(c.targetCondition, "tags.site='west'");
    assert.equal(c.priority, 1);
    assert.deepEqual(labels(id), {
      "edgek8s.managed": "true",
      "edgek8s.stack": "edgek8s.prod",
      "edgek8s.track": "factory",
      "edgek8s.hash": id.slice(-12),
      "edgek8s.seq": "1",
      "edgek8s.state": "Stable",
    });
    assert.deepEqual(Object.keys(c.metrics).sort(), ["ek8sFailed", "ek8sHealthy", "sensors"]);
    assert.match(c.metrics["ek8sHealthy"] ?? "", new RegExp(`configurations\\.\\[\\[${id}\\]\\]\\.status = 'Applied'`));
    assert.ok(hub.requests.slice(start).every((r) => r.principal === "policy:registryReadWrite"));
    hub.engine.tick();
    assert.match(sensorImage("w1"), /sensor:1/);
    assert.equal(hub.configurations.get(id)?.systemMetricResults["targetedCount"], 3);
  });

  it("writes nothing when nothing changed (one list)", async () => {
    const start = hub.requests.length;
    await applyTrack(client(), inputs("sensor:1"));
    assert.deepEqual(
      hub.requests.slice(start).map((r) => r.operation),
      ["listConfigurations"],
    );
  });

  it("new content: a new release at the next priority that targets nothing; devices stay on the old one", async () => {
    const out = await applyTrack(client(), inputs("sensor:2"));
    const [stable, candidate] = [idOf("sensor:1"), idOf("sensor:2")];
    assert.deepEqual([out.stableId, out.candidateId, out.releaseId], [stable, candidate, candidate]);
    assert.equal(hub.configurations.get(candidate)?.targetCondition, "");
    assert.equal(hub.configurations.get(candidate)?.priority, 2);
    assert.equal(labels(candidate)["edgek8s.state"], "Staged");
    assert.equal(hub.configurations.has(stable), true, "the old release is kept");
    hub.engine.tick(5);
    assert.match(sensorImage("w1"), /sensor:1/);
    assert.deepEqual(
      out.releases.map((r) => [r.seq, r.state]),
      [
        [1, "Stable"],
        [2, "Staged"],
      ],
    );
    assert.deepEqual(hub.ignoredContentChanges, [], "never a content change in place");
  });

  it("updates the stable release's target and metrics with its etag, never the candidate's target or rollout labels", async () => {
    const [stable, candidate] = [idOf("sensor:1"), idOf("sensor:2")];
    rollout(candidate, "(tags.site='west') AND (tags.edgek8s.bucket < 10)", {
      "edgek8s.state": "Applying",
      "edgek8s.ring": "0",
    });
    // The rollout writes the stable release too between the provider's read and its write: 412, read again.
    let raced = false;
    const racing = new Proxy(registry, {
      get(target, property) {
        if (property !== "getConfiguration") return Reflect.get(target, property) as unknown;
        return async (id: string) => {
          const read = await target.getConfiguration(id);
          if (!raced) {
            raced = true;
            rollout(stable, hub.configurations.get(stable)!.targetCondition, {
              "edgek8s.since": "2026-08-01T00:00:00Z",
            });
            hub.configurations.get(stable)!.etag = "moved-on";
          }
          return read;
        };
      },
    });
    const next = inputs("sensor:2", { target: "tags.site='west' OR tags.site='east'", metrics: {} });
    const start = hub.requests.length;
    await applyTrack({ registry: racing, retry: client().retry }, next);
    assert.ok(raced);
    assert.deepEqual(
      hub.requests
        .slice(start)
        .filter((r) => r.operation === "putConfiguration")
        .map((r) => r.status),
      [412, 200],
    );
    assert.equal(hub.configurations.get(stable)?.targetCondition, "tags.site='west' OR tags.site='east'");
    assert.deepEqual(Object.keys(hub.configurations.get(stable)!.metrics).sort(), ["ek8sFailed", "ek8sHealthy"]);
    assert.equal(labels(stable)["edgek8s.since"], "2026-08-01T00:00:00Z", "the rollout's label survived the 412");
    assert.equal(
      hub.configurations.get(candidate)?.targetCondition,
      "(tags.site='west') AND (tags.edgek8s.bucket < 10)",
    );
    assert.equal(labels(candidate)["edgek8s.ring"], "0");
    assert.equal(labels(candidate)["edgek8s.state"], "Applying");
  });

  it("never re-targets a rolled-back candidate with the same content; new content replaces it", async () => {
    const candidate = idOf("sensor:2");
    rollout(candidate, "", { "edgek8s.state": "RolledBack", "edgek8s.reason": "maxFailures" });
    const again = await applyTrack(client(), inputs("sensor:2"));
    assert.equal(hub.configurations.get(candidate)?.targetCondition, "");
    assert.equal(labels(candidate)["edgek8s.state"], "RolledBack");
    assert.equal(again.candidateId, "");
    const fixed = await applyTrack(client(), inputs("sensor:3"));
    assert.equal(fixed.candidateId, idOf("sensor:3"));
    assert.equal(hub.configurations.get(idOf("sensor:3"))?.priority, 3);
    assert.equal(
      hub.configurations.has(candidate),
      false,
      "the rolled-back release is gone once other content is wanted",
    );
  });

  it("garbage-collects Superseded releases beyond retain, newest kept", async () => {
    // The rollout completes sensor:3, then a sensor:4 release comes and completes too.
    rollout(idOf("sensor:1"), "tags.site='west'", { "edgek8s.state": "Superseded" });
    rollout(idOf("sensor:3"), "tags.site='west'", { "edgek8s.state": "Stable" });
    await applyTrack(client(), inputs("sensor:4"));
    rollout(idOf("sensor:3"), "tags.site='west'", { "edgek8s.state": "Superseded" });
    rollout(idOf("sensor:4"), "tags.site='west'", { "edgek8s.state": "Stable" });
    const out = await applyTrack(client(), inputs("sensor:4"));
    assert.equal(hub.configurations.has(idOf("sensor:1")), false, "beyond retain: 1");
    assert.equal(hub.configurations.has(idOf("sensor:3")), true);
    assert.deepEqual(
      out.releases.map((r) => [r.id, r.state]),
      [
        [idOf("sensor:3"), "Superseded"],
        [idOf("sensor:4"), "Stable"],
      ],
    );
  });

  it("refuses a configuration with a release's id that is not this track's; adopts its own", async () => {
    const foreignId = releaseId("factory", inputs("sensor:5").modulesContent);
    hub.call("PUT", `/configurations/${foreignId}`, {
      id: foreignId,
      labels: { "edgek8s.stack": "someone.else", "edgek8s.track": "factory" },
      content: baseContent("sensor:5"),
      targetCondition: "",
    });
    const before = hub.configurations.size;
    await assert.rejects(
      applyTrack(client(), inputs("sensor:5")),
      /configuration ek8s-factory-\w{12} already exists in the hub and is not this track's \(labels edgek8s\.stack=someone\.else/,
    );
    assert.equal(hub.configurations.size, before, "nothing created");
    hub.configurations.delete(foreignId);
    // What a run that failed after creating its release leaves: this track's own, adopted as is.
    const leftover = releaseId("factory", inputs("sensor:5").modulesContent);
    hub.call("PUT", `/configurations/${leftover}`, {
      id: leftover,
      labels: {
        "edgek8s.stack": "edgek8s.prod",
        "edgek8s.track": "factory",
        "edgek8s.seq": "5",
        "edgek8s.state": "Staged",
      },
      content: baseContent("sensor:5"),
      targetCondition: "",
      priority: 5,
    });
    const start = hub.requests.length;
    const out = await applyTrack(client(), inputs("sensor:5"));
    assert.equal(out.candidateId, leftover);
    assert.deepEqual(
      hub.requests.slice(start).filter((r) => r.path.endsWith(leftover)),
      [],
      "adopted without a write",
    );
    assert.equal(labels(leftover)["edgek8s.state"], "Staged");
  });

  it("stages on a device that never exists where the hub refuses an empty target (§A5 #2 switch)", async () => {
    hub.settings.emptyTarget = "refused";
    try {
      await assert.rejects(applyTrack(client(), inputs("sensor:9")), /\(400\): the target condition may not be empty/);
      const out = await applyTrack(client(), inputs("sensor:9", { stagedTarget: "deviceId='edgek8s-none'" }));
      assert.equal(hub.configurations.get(out.candidateId)?.targetCondition, "deviceId='edgek8s-none'");
      hub.engine.tick();
      assert.equal(hub.configurations.get(out.candidateId)?.systemMetricResults["targetedCount"], 0);
    } finally {
      hub.settings.emptyTarget = "targetsNothing";
    }
  });

  it("rides out a 429 storm within its budget (10 s, doubling, jittered), and gives up beyond it", async () => {
    hub.throttles.inject("configurations", 3);
    clock.delays.length = 0;
    await applyTrack(client(), inputs("sensor:6"));
    assert.deepEqual(clock.delays, [10_000, 20_000, 40_000]);
    assert.ok(hub.configurations.has(idOf("sensor:6")));
    hub.throttles.inject("configurations", 3);
    await assert.rejects(
      applyTrack({ registry, retry: { budgetMs: 60_000, clock } }, inputs("sensor:7")),
      /IoT Hub kept answering 429 to list configurations; gave up after 30 s \(3 attempts, budget 60 s\)/,
    );
    hub.unavailable = true;
    clock.onSleep = () => {
      hub.unavailable = false;
    };
    const start = hub.requests.length;
    await applyTrack(client(), inputs("sensor:6"));
    clock.onSleep = undefined;
    assert.deepEqual(
      hub.requests.slice(start).map((r) => r.status),
      [503, 200],
    );
  });

  it("destroy deletes exactly this stack's track: another track's and a foreign configuration stay", async () => {
    await applyTrack(client(), inputs("till:1", { track: "shop", trackIndex: 1, target: "tags.site='shop'" }));
    hub.call("PUT", "/configurations/hand-made", { id: "hand-made", content: baseContent("x:1"), targetCondition: "" });
    await deleteTrack(client(), { stackId: "edgek8s.prod", track: "factory" });
    const left = [...hub.configurations.keys()];
    assert.equal(left.filter((id) => id.startsWith("ek8s-factory-")).length, 0);
    assert.ok(left.includes("hand-made"));
    assert.ok(left.some((id) => id.startsWith("ek8s-shop-")));
    await deleteTrack(client(), { stackId: "edgek8s.prod", track: "factory" }); // nothing left: still fine
  });

  it("diff: new content, targets and metrics update in place; another track, stack or hub replaces", () => {
    const old = { ...inputs("sensor:1"), releaseId: "", stableId: "", candidateId: "", releases: [] };
    assert.deepEqual(diffEdgeTrack(old, inputs("sensor:2")), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    assert.equal(diffEdgeTrack(old, inputs("sensor:1")).changes, false);
    assert.deepEqual(diffEdgeTrack(old, inputs("sensor:1", { stackId: "edgek8s.dev" })).replaces, ["stackId"]);
  });
});
