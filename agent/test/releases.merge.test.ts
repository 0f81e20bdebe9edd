import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type Configuration, isLayeredContent, resolveDevice } from "../src/releases/merge.ts";
import { canonicalJson } from "../src/runtime/canonical.ts";
import {
  configurationIdProblem,
  contentHash12,
  deviceBucket,
  labelProblem,
  releaseId,
  trackNameProblem,
} from "../src/releases/naming.ts";
import { TWIN_LIMITS, documentSize, stringSize, twinDocumentProblems } from "../src/releases/twinSize.ts";

const agent = (modules: Record<string, unknown>) => ({
  schemaVersion: "1.1",
  runtime: { type: "docker", settings: {} },
  systemModules: { edgeAgent: { type: "docker", settings: { image: "agent:1.5" } } },
  modules,
});
const sensor = (image: string) => ({ type: "docker", status: "running", restartPolicy: "always", settings: { image } });

function base(id: string, priority: number, image: string, createdTimeUtc = "2026-01-01T00:00:00Z"): Configuration {
  return {
    id,
    priority,
    createdTimeUtc,
    layer: false,
    modulesContent: {
      $edgeAgent: { "properties.desired": agent({ sensor: sensor(image) }) },
      $edgeHub: { "properties.desired": { schemaVersion: "1.1", routes: { up: "FROM /messages/* INTO $upstream" } } },
    },
  } as Configuration;
}

function layer(id: string, priority: number, content: Record<string, Record<string, unknown>>): Configuration {
  return {
    id,
    priority,
    createdTimeUtc: "2026-01-02T00:00:00Z",
    layer: true,
    modulesContent: content,
  } as Configuration;
}

describe("resolveDevice: IoT Hub's priority and layering rules", () => {
  it("applies the highest-priority base only; lower bases are targeted, not merged", () => {
    const r = resolveDevice([base("old", 10, "s:1"), base("new", 20, "s:2")]);
    assert.deepEqual(r.applied, ["new"]);
    assert.deepEqual(r.targeted, ["old"]);
    assert.equal(
      (r.desired["$edgeAgent"] as { modules: { sensor: { settings: { image: string } } } }).modules.sensor.settings
        .image,
      "s:2",
    );
  });

  it("breaks a priority tie by the most recent creation time", () => {
    const r = resolveDevice([
      base("b", 10, "s:b", "2026-03-01T00:00:00Z"),
      base("a", 10, "s:a", "2026-02-01T00:00:00Z"),
    ]);
    assert.deepEqual(r.applied, ["b"]);
  });

  it("merges layers above the base in priority order, by dot path, the higher winning", () => {
    const r = resolveDevice([
      base("base", 10, "s:1"),
      layer("vision", 1_000_001, {
        $edgeAgent: { "properties.desired.modules.camera": sensor("cam:1") },
        $edgeHub: { "properties.desired.routes.camera": "FROM /messages/modules/camera/* INTO $upstream" },
        camera: { "properties.desired": { fps: 10 } },
      }),
      layer("vision-fix", 1_000_002, {
        $edgeAgent: { "properties.desired.modules.camera": sensor("cam:2") },
        camera: { "properties.desired.fps": 30 },
      }),
    ]);
    assert.deepEqual(r.applied, ["base", "vision", "vision-fix"]);
    const modules = (r.desired["$edgeAgent"] as { modules: Record<string, { settings: { image: string } }> }).modules;
    assert.deepEqual(Object.keys(modules).sort(), ["camera", "sensor"]);
    assert.equal(modules["camera"]!.settings.image, "cam:2");
    assert.deepEqual(Object.keys((r.desired["$edgeHub"] as { routes: object }).routes).sort(), ["camera", "up"]);
    assert.deepEqual(r.desired["camera"], { fps: 30 });
  });

  it("a layer path set to null removes what it names", () => {
    const r = resolveDevice([
      base("base", 10, "s:1"),
      layer("remove", 1_000_001, { $edgeAgent: { "properties.desired.modules.sensor": null } }),
    ]);
    assert.deepEqual((r.desired["$edgeAgent"] as { modules: object }).modules, {});
  });

  it("a layer whose whole properties.desired is given replaces the module twin", () => {
    const r = resolveDevice([
      base("base", 10, "s:1"),
      layer("l", 1_000_001, { $edgeHub: { "properties.desired": { schemaVersion: "1.2", routes: {} } } }),
    ]);
    assert.deepEqual(r.desired["$edgeHub"], { schemaVersion: "1.2", routes: {} });
  });

  it("a layer not above the base is targeted, not applied", () => {
    const r = resolveDevice([
      base("base", 10, "s:1"),
      layer("low", 5, { $edgeAgent: { "properties.desired.modules.x": sensor("x") } }),
    ]);
    assert.deepEqual(r.applied, ["base"]);
    assert.deepEqual(r.targeted, ["low"]);
  });

  it("nothing targeting → nothing applied", () => {
    assert.deepEqual(resolveDevice([]), { applied: [], targeted: [], desired: {} });
  });

  it("never mutates its inputs", () => {
    const b = base("base", 10, "s:1");
    const before = canonicalJson(b);
    resolveDevice([
      b,
      layer("l", 1_000_001, { $edgeAgent: { "properties.desired.modules.sensor.settings.image": "s:9" } }),
    ]);
    assert.equal(canonicalJson(b as never), before);
  });

  it("classifies content as layered the way the Azure CLI does", () => {
    assert.equal(isLayeredContent(base("b", 1, "x").modulesContent), false);
    assert.equal(isLayeredContent({ $edgeAgent: { "properties.desired.modules.x": {} } }), true);
  });

  it("the result does not depend on the order configurations are listed in", () => {
    const all = [
      base("a", 10, "s:a"),
      base("b", 20, "s:b"),
      layer("l1", 1_000_001, { $edgeAgent: { "properties.desired.modules.c": sensor("c:1") } }),
      layer("l2", 1_000_002, { $edgeAgent: { "properties.desired.modules.c": sensor("c:2") } }),
    ];
    const expected = canonicalJson(resolveDevice(all));
    fc.assert(
      fc.property(fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }), (shuffled) => {
        assert.equal(canonicalJson(resolveDevice(shuffled) as never), expected);
      }),
    );
  });
});

describe("twin size and document rules", () => {
  it("counts keys and string values in UTF-8, numbers 8, Booleans 4, skipping $-keys and control characters", () => {
    assert.equal(documentSize({ a: "xyz", n: 1, b: true, $version: 4 }), 1 + 3 + 1 + 8 + 1 + 4);
    assert.equal(documentSize({ nested: { k: "é" } }), 6 + 1 + 2);
    assert.equal(stringSize("a\u0001b\u0085"), 2);
  });

  it("finds keys, values, depth and integers IoT Hub refuses, with their paths", () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 11; i++) deep = { [`l${i}`]: deep };
    const problems = twinDocumentProblems({
      "bad.key": 1,
      "with space": 1,
      ok: { big: "x".repeat(TWIN_LIMITS.stringBytes + 1), int: 2 ** 53 },
      deep,
    } as never);
    const paths = problems.map((p) => p.path);
    assert.deepEqual(paths.slice(0, 4), ["bad.key", "with space", "ok.big", "ok.int"]);
    assert.match(problems.at(-1)!.message, /deeper than IoT Hub's 10 levels/);
  });

  it("accepts exactly ten levels of nesting, as the docs' example does", () => {
    let ten: Record<string, unknown> = { property: "value" };
    for (let i = 0; i < 10; i++) ten = { [`l${i}`]: ten };
    assert.deepEqual(twinDocumentProblems(ten as never), []);
    assert.equal(twinDocumentProblems({ one: ten } as never).length, 1);
  });

  it("allows dot-path keys at the root of a layer's module twin content only", () => {
    assert.deepEqual(
      twinDocumentProblems({ "properties.desired.modules.x": { a: 1 } }, { allowDottedKeysAtRoot: true }),
      [],
    );
    assert.equal(twinDocumentProblems({ x: { "a.b": 1 } }, { allowDottedKeysAtRoot: true }).length, 1);
  });
});

describe("release names, labels and buckets", () => {
  it("release ids carry the track and a content hash that ignores key order", () => {
    const a = { $edgeAgent: { "properties.desired": { x: 1, y: [1, { b: 2, a: 1 }] } } };
    const b = { $edgeAgent: { "properties.desired": { y: [1, { a: 1, b: 2 }], x: 1 } } };
    assert.equal(contentHash12(a), contentHash12(b));
    assert.match(releaseId("factory", a), /^ek8s-factory-[0-9a-f]{12}$/);
    assert.equal(configurationIdProblem(releaseId("factory", a)), undefined);
    assert.notEqual(contentHash12(a), contentHash12({ ...a, z: 1 }));
  });

  it("validates track names, configuration ids and labels as IoT Hub does", () => {
    assert.equal(trackNameProblem("factory-2"), undefined);
    assert.notEqual(trackNameProblem("Factory"), undefined);
    assert.notEqual(trackNameProblem("-x"), undefined);
    assert.notEqual(trackNameProblem("x".repeat(41)), undefined);
    assert.notEqual(configurationIdProblem("UPPER"), undefined);
    assert.notEqual(configurationIdProblem("a".repeat(129)), undefined);
    assert.equal(labelProblem("edgek8s.stack"), undefined);
    assert.equal(labelProblem("2026-11-30T10:00:00Z"), undefined);
    assert.match(labelProblem("edgek8s.io/track")!, /labels are/);
    assert.match(labelProblem("$x")!, /reserved/);
  });

  it("buckets are stable, in 0–99 and spread over the range", () => {
    assert.equal(deviceBucket("line3-gw"), deviceBucket("line3-gw"));
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const bucket = deviceBucket(`device-${i}`);
      assert.equal(bucket >= 0 && bucket < 100 && Number.isInteger(bucket), true);
      counts[Math.floor(bucket / 10)]!++;
    }
    for (const count of counts) assert.equal(count > 800 && count < 1200, true, `decile count ${count}`);
  });
});
