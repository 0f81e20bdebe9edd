import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { durationMs } from "../src/cli/agent.ts";
import type { EnginePlan } from "../src/releases/engine.ts";
import {
  type DeviceReport,
  deviceFromObjects,
  releaseFromObject,
  tagsFromNamespace,
} from "../src/releases/observed.ts";
import { desiredVersionsAfter, releaseStatus } from "../src/releases/systemMetrics.ts";
import { Trigger } from "../src/releases/trigger.ts";

const namespace = (tags?: string) => ({
  metadata: { name: "msiot-hub-gw-1", ...(tags !== undefined ? { annotations: { "edgek8s.io/tags": tags } } : {}) },
});

describe("release engine: reading the cluster", () => {
  it("an EdgeRelease becomes a release, created time from its creation timestamp", () => {
    const parsed = releaseFromObject({
      metadata: { name: "ek8s-factory-aaaaaaaaaaaa", creationTimestamp: new Date("2026-01-02T03:04:05Z") },
      spec: {
        track: "factory",
        layer: false,
        priority: 7,
        targetCondition: "tags.a = 1",
        modulesContent: { $edgeAgent: {} },
      },
    });
    assert.deepEqual(parsed, {
      release: {
        id: "ek8s-factory-aaaaaaaaaaaa",
        priority: 7,
        createdTimeUtc: "2026-01-02T03:04:05.000Z",
        layer: false,
        targetCondition: "tags.a = 1",
        modulesContent: { $edgeAgent: {} },
      },
    });
  });

  it("content whose twin is not an object of paths is a problem naming the field", () => {
    const parsed = releaseFromObject({
      metadata: { name: "r" },
      spec: { track: "t", layer: false, priority: 1, targetCondition: "", modulesContent: { $edgeAgent: "x" } },
    });
    assert.ok("problem" in parsed);
    assert.match(parsed.problem, /^spec\.modulesContent\.\$edgeAgent: must be an object of twin paths$/);
  });

  it("a spec field of the wrong type, or no spec, is a problem naming the field", () => {
    const spec = { track: "t", layer: false, priority: 1, targetCondition: "", modulesContent: {} };
    const problem = (value: unknown) =>
      (releaseFromObject({ metadata: { name: "r" }, spec: value }) as { problem: string }).problem;
    assert.equal(problem(undefined), "spec: must be an object");
    assert.equal(problem({ ...spec, priority: 1.5 }), "spec.priority: must be an integer");
    assert.equal(problem({ ...spec, layer: "false" }), "spec.layer: must be a boolean");
    assert.equal(problem({ ...spec, track: undefined }), "spec.track: must be a string");
    assert.equal(problem({ ...spec, modulesContent: [] }), "spec.modulesContent: must be an object of module twins");
  });

  it("tags come from the namespace annotation; none is {}; anything but a JSON object is a problem", () => {
    assert.deepEqual(tagsFromNamespace(namespace()), { tags: {} });
    assert.deepEqual(tagsFromNamespace(namespace('{"site":"west","edgek8s":{"bucket":7}}')), {
      tags: { site: "west", edgek8s: { bucket: 7 } },
    });
    assert.match((tagsFromNamespace(namespace("{site")) as { problem: string }).problem, /is not JSON/);
    assert.match((tagsFromNamespace(namespace("[1]")) as { problem: string }).problem, /must be a JSON object/);
  });

  it("an EdgeDeployment is a device with what it reported; one being deleted or without a device id is none", () => {
    const edgeDeployment = {
      metadata: { name: "gw-1", namespace: "msiot-hub-gw-1", uid: "u1", generation: 3 },
      spec: { deviceId: "gw-1", desiredVersion: 4, edgeAgent: { a: 1 } },
      status: { desiredVersion: 4, lastDesiredStatus: { code: 200, description: "" } },
    };
    const observed = deviceFromObjects(edgeDeployment, namespace('{"site":"west"}'));
    assert.deepEqual(observed, {
      device: {
        deviceId: "gw-1",
        key: "msiot-hub-gw-1/gw-1",
        tags: { site: "west" },
        desiredVersion: 4,
        edgeAgent: { a: 1 },
        edgeHub: undefined,
      },
      report: { deviceId: "gw-1", lastDesiredVersion: 4, lastDesiredCode: 200 },
      uid: "u1",
      generation: 3,
    });
    const deleting = {
      ...edgeDeployment,
      metadata: { ...edgeDeployment.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" },
    };
    assert.equal(deviceFromObjects(deleting, namespace()), undefined);
    assert.equal(deviceFromObjects({ ...edgeDeployment, spec: {} }, namespace()), undefined);
    assert.ok("problem" in (deviceFromObjects(edgeDeployment, namespace("nope")) ?? {}));
  });
});

describe("release engine: status and system metrics as IoT Hub's queries define them", () => {
  const report = (deviceId: string, lastDesiredVersion?: number, lastDesiredCode?: number): [string, DeviceReport] => [
    deviceId,
    { deviceId, lastDesiredVersion, lastDesiredCode },
  ];
  const reports = new Map([
    report("ok", 5, 200),
    report("failed", 5, 400),
    report("offline", 5, 406),
    report("behind", 4, 200),
    report("silent", 5),
    report("lost", 1, 200),
  ]);
  const versions = new Map(["ok", "failed", "offline", "behind", "silent", "lost"].map((id) => [id, 5]));

  it("successful: applied, acted on exactly its desired version, 200; failed: the same with any other code", () => {
    const status = releaseStatus({
      generation: 2,
      outcome: { applied: ["ok", "failed", "offline", "behind", "silent"], targeted: ["lost"] },
      desiredVersions: versions,
      reports,
    });
    assert.deepEqual(status, {
      observedGeneration: 2,
      applied: ["ok", "failed", "offline", "behind", "silent"],
      targeted: ["lost"],
      // 406 counts as failed while the versions match, as IoT Hub's query does; "silent" reported no code.
      systemMetrics: { targetedCount: 6, appliedCount: 5, reportedSuccessfulCount: 1, reportedFailedCount: 2 },
    });
  });

  it("a device whose write failed stays targeted but is not applied; errors are carried", () => {
    const status = releaseStatus({
      generation: 1,
      outcome: { applied: ["ok", "failed"], targeted: [], conditionError: "targetCondition: x" },
      desiredVersions: versions,
      reports,
      undelivered: new Set(["failed"]),
      contentError: "spec.modulesContent: y",
    });
    assert.deepEqual(status.applied, ["ok"]);
    assert.deepEqual(status.systemMetrics, {
      targetedCount: 2,
      appliedCount: 1,
      reportedSuccessfulCount: 1,
      reportedFailedCount: 0,
    });
    assert.equal(status.conditionError, "targetCondition: x");
    assert.equal(status.contentError, "spec.modulesContent: y");
  });

  it("the desired version after an evaluation is the written one, unless the write failed", () => {
    const plan: EnginePlan = {
      updates: [
        { key: "a/a", deviceId: "a", desiredVersion: 3, edgeAgent: {}, edgeHub: undefined },
        { key: "b/b", deviceId: "b", desiredVersion: 8, edgeAgent: {}, edgeHub: undefined },
      ],
      releases: new Map(),
    };
    const after = desiredVersionsAfter(
      plan,
      [
        { deviceId: "a", desiredVersion: 2 },
        { deviceId: "b", desiredVersion: 7 },
        { deviceId: "c", desiredVersion: undefined },
      ],
      new Set(["b"]),
    );
    assert.deepEqual(
      [...after],
      [
        ["a", 3],
        ["b", 7],
        ["c", undefined],
      ],
    );
  });
});

describe("release engine: one debounced work item", () => {
  it("a burst of changes makes one run; a change during a run makes exactly one more", async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    let started: () => void = () => undefined;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    const trigger = new Trigger(
      async () => {
        runs++;
        if (runs === 1) {
          started();
          await new Promise<void>((resolve) => (release = resolve));
        }
        return true;
      },
      { debounceMs: 1 },
    );
    for (let i = 0; i < 10; i++) trigger.poke();
    await firstStarted;
    for (let i = 0; i < 10; i++) trigger.poke();
    assert.equal(runs, 1);
    release();
    await trigger.whenIdle();
    assert.equal(runs, 2);
    await trigger.stop();
  });

  it("a failed run is retried until it succeeds", async () => {
    let runs = 0;
    const trigger = new Trigger(
      () => {
        runs++;
        return runs === 1 ? Promise.reject(new Error("API server away")) : Promise.resolve(runs >= 3);
      },
      { debounceMs: 1, baseBackoffMs: 1 },
    );
    trigger.poke();
    await trigger.whenIdle();
    assert.equal(runs, 3);
    await trigger.stop();
  });

  it("--release-eval-interval takes seconds or a unit", () => {
    assert.deepEqual(
      ["0", "90", "30s", "5m", "1h"].map((v) => durationMs(v, "x")),
      [0, 90_000, 30_000, 300_000, 3_600_000],
    );
    assert.equal(durationMs(undefined, "x"), 0);
    // The rollout plan's durations, read by the same parser.
    assert.equal(durationMs("1h30m", "x"), 5_400_000);
    assert.throws(() => durationMs("-1", "x"), /--x must be a duration/);
  });
});
