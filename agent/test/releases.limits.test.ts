import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type DeviceLimitsInput,
  type LimitsInput,
  type TrackLimitsInput,
  deviceTags,
  limitsProblems,
} from "../src/releases/limits.ts";
import { MAX_LAYER_TRACKS, MAX_SEQUENCE, releasePriority, trackIndexes } from "../src/releases/priority.ts";
import { deviceBucket } from "../src/releases/naming.ts";
import { DEFAULT_PLAN, parseRolloutPlan } from "../src/rollout/plan.ts";

const module = (image: string) => ({ type: "docker", status: "running", restartPolicy: "always", settings: { image } });

function baseTrack(
  name: string,
  target: string,
  modules: Record<string, unknown> = { sensor: module("s:1") },
): TrackLimitsInput {
  return {
    name,
    layer: false,
    target,
    retain: 2,
    metrics: {},
    modulesContent: {
      $edgeAgent: {
        "properties.desired": {
          schemaVersion: "1.1",
          runtime: { type: "docker", settings: {} },
          systemModules: { edgeAgent: module("agent:1.5") },
          modules,
        },
      },
      $edgeHub: { "properties.desired": { schemaVersion: "1.1", routes: { up: "FROM /messages/* INTO $upstream" } } },
    } as TrackLimitsInput["modulesContent"],
  };
}

function layerTrack(name: string, target: string, content: Record<string, Record<string, unknown>>): TrackLimitsInput {
  return {
    name,
    layer: true,
    target,
    retain: 1,
    metrics: {},
    modulesContent: content as TrackLimitsInput["modulesContent"],
  };
}

const devices: DeviceLimitsInput[] = [
  { deviceId: "gw-1", tags: { site: "west", ring: "canary", camera: true }, ownManifest: false },
  { deviceId: "gw-2", tags: { site: "west" }, ownManifest: false },
  { deviceId: "till-1", tags: { site: "shop" }, ownManifest: false },
];

function input(overrides: Partial<LimitsInput>): LimitsInput {
  return {
    tracks: [baseTrack("factory", "tags.site = 'west'")],
    devices,
    hub: { sku: "S1", units: 1 },
    plan: DEFAULT_PLAN,
    stackLabel: "edgek8s.prod",
    ...overrides,
  };
}

function messages(i: LimitsInput): string[] {
  return limitsProblems(i).map((p) => `${p.severity} ${p.key}: ${p.message}`);
}

describe("limits policy", () => {
  it("passes a good stack: two base tracks on disjoint targets and a layer", () => {
    const good = input({
      tracks: [
        baseTrack("factory", "tags.site = 'west'"),
        baseTrack("shop", "tags.site = 'shop'"),
        layerTrack("vision", "tags.camera = true", {
          $edgeAgent: { "properties.desired.modules.camera": module("cam:1") },
          $edgeHub: { "properties.desired.routes.camera": "FROM /messages/modules/camera/* INTO $upstream" },
        }),
      ],
    });
    assert.deepEqual(messages(good), []);
  });

  it("bad stack 1: a layer that replaces the modules, touches system modules and carries a bad target", () => {
    const lines = messages(
      input({
        tracks: [
          baseTrack("factory", "tags.site = 'west'"),
          layerTrack("vision", 'tags.camera = "yes"', {
            $edgeAgent: {
              "properties.desired.modules": { camera: module("cam:1") },
              "properties.desired.systemModules.edgeHub": module("hub:1"),
            },
          }),
        ],
      }),
    );
    assert.deepEqual(lines, [
      "error edgek8s:tracks.vision.target: IoT Edge target conditions take single-quoted strings only",
      "error edgek8s:tracks.vision.manifest: $edgeAgent sets properties.desired.modules whole, which replaces the base's modules; set properties.desired.modules.<id> for each module",
      "error edgek8s:tracks.vision.manifest: a layer may not change systemModules.edgeHub (system modules and runtime belong to the base)",
      "error edgek8s:tracks.vision.manifest: the layer sets no $edgeAgent properties.desired.modules.<id>, so IoT Hub never reports it Applied and rollout gates cannot see it (Azure/iotedge#5023)",
    ]);
  });

  it("bad stack 2: 51 modules, a 5 KB env value, a key with a dot, 4 custom metrics", () => {
    const modules: Record<string, unknown> = {};
    for (let i = 0; i < 51; i++) modules[`m${i}`] = module("x:1");
    modules["m0"] = { ...module("x:1"), env: { "BAD.NAME": { value: "y".repeat(5000) } } };
    const track = {
      ...baseTrack("factory", "tags.site = 'west'", modules),
      metrics: {
        a: "SELECT deviceId FROM devices WHERE tags.a = 1",
        b: "SELECT deviceId FROM devices WHERE tags.b = 1",
        c: "SELECT deviceId FROM devices WHERE tags.c = 1",
        d: "SELECT * FROM x",
      },
    };
    const lines = messages(input({ tracks: [track] }));
    assert.deepEqual(lines.slice(0, 5), [
      "error edgek8s:tracks.factory.metrics: 4 custom metrics + edgek8s's 2 exceed IoT Hub's 5",
      "error edgek8s:tracks.factory.metrics.d: expected SELECT deviceId FROM devices[.modules] WHERE <condition>",
      "error edgek8s:tracks.factory.manifest: 51 modules; IoT Hub allows 50 per deployment",
      "error edgek8s:tracks.factory.manifest: $edgeAgent.properties.desired.modules.m0.env.BAD.NAME: key contains a character IoT Hub refuses ('.', '$', space or a control character)",
      "error edgek8s:tracks.factory.manifest: $edgeAgent.properties.desired.modules.m0.env.BAD.NAME.value: string value is 5000 bytes; IoT Hub allows 4 KB",
    ]);
  });

  it("bad stack 3: overlapping base tracks, two layers defining one module, a device with its own manifest in a track", () => {
    const lines = messages(
      input({
        tracks: [
          baseTrack("factory", "tags.site = 'west'"),
          baseTrack("line", "deviceId = 'gw-1'"),
          layerTrack("cam-a", "tags.camera = true", {
            $edgeAgent: { "properties.desired.modules.camera": module("a:1") },
          }),
          layerTrack("cam-b", "tags.site = 'west'", {
            $edgeAgent: { "properties.desired.modules.camera": module("b:1") },
          }),
        ],
        devices: [...devices.slice(1), { ...devices[0]!, ownManifest: true }],
      }),
    );
    assert.deepEqual(lines, [
      "error edgek8s:tracks.line.target: base tracks factory and line both target gw-1; IoT Hub applies only one base per device — make the targets disjoint",
      "error edgek8s:tracks.cam-b.manifest: layers cam-a and cam-b both define module camera and both target gw-1",
      "error edgek8s:devices.gw-1.manifest: the device is also targeted by track factory, line, cam-a, cam-b; give it either a manifest or a track",
    ]);
  });

  it("bad stack 4: too many deployments for a Free hub, and a poll interval over the query budget", () => {
    const plan = parseRolloutPlan({ rings: [{ name: "all", percent: 100 }], pollInterval: "5s" });
    assert.equal(plan.ok, true);
    const lines = messages(
      input({
        hub: { sku: "F1", units: 1 },
        plan: plan.ok ? plan.plan : DEFAULT_PLAN,
        tracks: [baseTrack("factory", "tags.site = 'west'"), { ...baseTrack("shop", "tags.site = 'shop'"), retain: 8 }],
      }),
    );
    assert.deepEqual(lines, [
      "error edgek8s:tracks: tracks × (stable + retain + 1 in flight) need 14 deployments; IoT Hub F1 allows 10",
      "error edgek8s:rollout.pollInterval: 48.0 queries a minute exceed half of the hub's 20/min query throttle; poll less often",
    ]);
  });

  it("bad stack 5: tags over 8 KB with the bucket, a stack label IoT Hub refuses, a canary ring that reaches nobody", () => {
    const plan = parseRolloutPlan({
      rings: [
        { name: "canary", select: "tags.ring = 'nowhere'" },
        { name: "all", percent: 100 },
      ],
    });
    const lines = messages(
      input({
        stackLabel: "edgek8s/prod",
        plan: plan.ok ? plan.plan : DEFAULT_PLAN,
        devices: [...devices, { deviceId: "big", tags: { site: "west", blob: "x".repeat(8200) }, ownManifest: false }],
      }),
    );
    assert.deepEqual(lines, [
      'error edgek8s:tracks: the stack label "edgek8s/prod" (project.stack): IoT Hub labels are 1–128 characters of ASCII letters, digits and - : . + % _ # * ? ! ( ) , = @ ; \'',
      "error edgek8s:devices.big.tags: are 8233 bytes with the rollout bucket; IoT Hub allows 8192",
      "warning edgek8s:rollout.rings[0]: ring canary selects none of the stack's devices (tags.edgek8s.bucket or select); the canary would prove nothing",
    ]);
  });

  it("warns at 80 % of a device's 32 KB desired properties and refuses above", () => {
    const big = (bytes: number) => ({
      sensor: { ...module("s:1"), env: { PAD: { value: "p".repeat(4000) } } },
      ...Object.fromEntries(
        Array.from({ length: bytes }, (_, i) => [
          `pad${i}`,
          { ...module("p:1"), env: { P: { value: "p".repeat(3900) } } },
        ]),
      ),
    });
    const warnLines = messages(input({ tracks: [baseTrack("factory", "tags.site = 'west'", big(6))] }));
    assert.equal(warnLines.length, 2);
    assert.match(
      warnLines[0]!,
      /^warning edgek8s:devices\.gw-1: \$edgeAgent desired properties from factory are \d+ bytes, over 80 %/,
    );
    const errorLines = messages(input({ tracks: [baseTrack("factory", "tags.site = 'west'", big(8))] }));
    assert.match(
      errorLines[0]!,
      /^error edgek8s:devices\.gw-1: \$edgeAgent desired properties from factory are \d+ bytes; IoT Hub allows 32768$/,
    );
  });

  it("adds the bucket to a device's tags without losing its own edgek8s tags", () => {
    assert.deepEqual(deviceTags("gw-1", { edgek8s: { team: "a" }, site: "x" }), {
      site: "x",
      edgek8s: { team: "a", bucket: deviceBucket("gw-1") },
    });
  });
});

describe("release priorities", () => {
  it("are unique per track, rise per release, and put every layer above every base", () => {
    const indexes = trackIndexes([
      { name: "shop", layer: false },
      { name: "factory", layer: false },
      { name: "vision", layer: true },
    ]);
    assert.deepEqual(
      [...indexes],
      [
        ["factory", 0],
        ["shop", 1],
        ["vision", 0],
      ],
    );
    assert.equal(releasePriority(false, 0, 0), 1);
    assert.equal(releasePriority(false, 1, 3), 100_004);
    assert.equal(releasePriority(false, 9, 99_998) < releasePriority(true, 0, 0), true);
    assert.equal(releasePriority(true, MAX_LAYER_TRACKS - 1, MAX_SEQUENCE) < 2 ** 31, true);
    assert.equal(releasePriority(true, MAX_LAYER_TRACKS, MAX_SEQUENCE) < 2 ** 31, false);
  });
});
