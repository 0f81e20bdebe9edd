import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseCondition } from "../src/releases/condition.ts";
import { type JsonValue, matches } from "../src/releases/evaluate.ts";
import { isTransient } from "../src/hub/retry.ts";
import { classifyDevice } from "../src/rollout/classify.ts";
import { HubCalls } from "../src/rollout/hubCalls.ts";
import { classQueries, reportFromTwin, stillCarriesLayer } from "../src/rollout/hubQueries.ts";
import { LabelError, labelsWithStatus, reasonCode, statusFromLabels } from "../src/rollout/labels.ts";
import { DEFAULT_GATES, parseRolloutPlan } from "../src/rollout/plan.ts";
import { type ReleaseRecord, trackReleases } from "../src/rollout/releases.ts";

const RELEASE = "ek8s-factory-cccccccccccc";
const NOW = new Date("2026-11-30T10:00:00.000Z");
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();

/** The WHERE clause of a `SELECT … FROM devices.modules WHERE …` query, parsed with the shared parser. */
/** HubCalls with three attempts and no real waiting, for what is retried and what is not. */
const quickCalls = () =>
  new HubCalls({ firstDelayMs: 1, maxDelayMs: 1, attempts: 3, sleep: () => Promise.resolve(), random: () => 0 });

function where(query: string) {
  const parsed = parseCondition(query.slice(query.indexOf(" WHERE ") + 7));
  if (!parsed.ok) throw new Error(`${parsed.error.message}: ${query}`);
  return parsed.expr;
}

describe("IoT Hub gate queries", () => {
  const q = classQueries(RELEASE, DEFAULT_GATES, NOW);
  const queries = { succeeded: where(q.succeeded), failed: where(q.failed), unreachable: where(q.unreachable) };

  it("count each device in the class the twin-by-twin classifier gives it (property)", () => {
    const version = fc.integer({ min: 1, max: 3 });
    const report = fc.record({
      applied: fc.boolean(),
      desired: version,
      acted: fc.option(fc.record({ version, code: fc.constantFrom(200, 400, 406, 412, 500) }), { nil: undefined }),
      readyVersion: fc.option(version, { nil: undefined }),
      ready: fc.option(fc.boolean(), { nil: undefined }),
      readyAge: fc.integer({ min: 0, max: 1200 }),
      heartbeatAge: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(report, (r) => {
        const reported: Record<string, JsonValue> = {
          ...(r.acted ? { lastDesiredVersion: r.acted.version, lastDesiredStatus: { code: r.acted.code } } : {}),
          ...(r.heartbeatAge !== undefined ? { heartbeat: ago(r.heartbeatAge) } : {}),
          edgek8s: {
            ...(r.readyVersion !== undefined ? { readyVersion: r.readyVersion } : {}),
            ...(r.ready !== undefined ? { ready: r.ready } : {}),
            readySince: ago(r.readyAge),
          },
        };
        const configurations: Record<string, JsonValue> = r.applied ? { [RELEASE]: { status: "Applied" } } : {};
        const twin = {
          deviceId: "d",
          moduleId: "$edgeAgent",
          configurations,
          properties: { desired: { $version: r.desired }, reported },
        };
        const expected = classifyDevice(reportFromTwin("d", twin, RELEASE), RELEASE, DEFAULT_GATES, NOW).class;
        const counted = Object.entries(queries)
          .filter(([, expr]) => matches(expr, twin))
          .map(([name]) => name);
        if (!r.applied) return counted.length === 0;
        return expected === "pending" ? counted.length === 0 : counted.length === 1 && counted[0] === expected;
      }),
      { numRuns: 2000 },
    );
  });

  it("read a device's report from its $edgeAgent module twin, configurations included", () => {
    const twin = {
      configurations: { "ek8s-factory-ssssssssssss": { status: "Targeted" }, [RELEASE]: { status: "Applied" } },
      properties: {
        desired: { $version: 7 },
        reported: {
          lastDesiredVersion: 7,
          lastDesiredStatus: { code: 200, description: "" },
          heartbeat: ago(10),
          edgek8s: { ready: true, readyVersion: 7, modulesReady: 2, modulesTotal: 2, readySince: ago(60) },
        },
      },
    };
    assert.deepEqual(reportFromTwin("gw-1", twin, RELEASE), {
      deviceId: "gw-1",
      appliedConfiguration: RELEASE,
      desiredVersion: 7,
      lastDesiredVersion: 7,
      code: 200,
      readyVersion: 7,
      ready: true,
      readySince: ago(60),
      heartbeat: ago(10),
    });
  });
});

describe("a layer IoT Hub leaves on a device after it is un-targeted (Azure/iotedge#7057)", () => {
  const module = (image: string) => ({ type: "docker", settings: { image } });
  const candidate = { $edgeAgent: { "properties.desired.modules.vision": module("vision:2") } };
  const stable = { $edgeAgent: { "properties.desired.modules.vision": module("vision:1") } };
  const twin = (vision: unknown) => ({
    properties: { desired: { $version: 9, modules: { base: module("b"), vision } } },
  });

  it("is still there while the device's desired properties hold the layer's own value", () => {
    assert.equal(stillCarriesLayer(twin(module("vision:2")), candidate, stable), true);
    assert.equal(stillCarriesLayer(twin(module("vision:1")), candidate, stable), false);
    assert.equal(stillCarriesLayer({ properties: { desired: { modules: {} } } }, candidate, stable), false);
    // The stable layer sets the same value: nothing tells them apart, nothing is left behind.
    assert.equal(stillCarriesLayer(twin(module("vision:2")), candidate, candidate), false);
    // A base release (whole documents, no layer paths) is never "still carried": its $version moves.
    assert.equal(
      stillCarriesLayer(twin(module("vision:2")), { $edgeAgent: { "properties.desired": {} } }, stable),
      false,
    );
  });
});

describe("IoT Hub throttling", () => {
  const status = (code: number) => Object.assign(new Error(`HTTP ${code}`), { response: { statusCode: code } });

  it("retries a 429 from 10 s, doubling, with jitter, and counts the time lost", async () => {
    const waits: number[] = [];
    const calls = new HubCalls({
      firstDelayMs: 10_000,
      maxDelayMs: 60_000,
      attempts: 8,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
      random: () => 0.5,
    });
    let n = 0;
    const answer = await calls.call("query", () => (++n <= 3 ? Promise.reject(status(429)) : Promise.resolve("rows")));
    assert.equal(answer, "rows");
    assert.deepEqual(waits, [12_500, 25_000, 50_000]);
    assert.equal(calls.throttled, 3);
    assert.equal(calls.count("query"), 4);
    assert.match(calls.summary().join("; "), /queries 4 .*throttled 3× \(88 s waited\)/);
  });

  it("paces queries to its share of the hub's query throttle instead of being throttled", async () => {
    let t = 0;
    const calls = new HubCalls(
      {
        firstDelayMs: 10_000,
        maxDelayMs: 60_000,
        attempts: 8,
        random: () => 0,
        queriesPerMinute: 2,
        sleep: (ms) => {
          t += ms;
          return Promise.resolve();
        },
      },
      () => t,
    );
    const sentAt: number[] = [];
    for (let i = 0; i < 5; i++) {
      await calls.call("query", () => {
        sentAt.push(t);
        return Promise.resolve();
      });
      t += 1000;
    }
    assert.deepEqual(sentAt, [0, 1000, 60_000, 61_000, 120_000]);
    assert.match(calls.summary().join("; "), /queries paced to the budget \(\d+ s waited\)/);
  });

  it("retries a 408 Request Timeout as the hub bridge does (one rule, hub/retry.ts), not its own bug (TypeError)", async () => {
    const calls = quickCalls();
    let n = 0;
    const answer = await calls.call("configurationRead", () =>
      ++n === 1 ? Promise.reject(status(408)) : Promise.resolve("ok"),
    );
    assert.equal(answer, "ok");
    assert.equal(n, 2);
    assert.equal(isTransient(status(408)), true);
    await assert.rejects(
      calls.call("configurationRead", () => Promise.reject(new TypeError("x is undefined"))),
      TypeError,
    );
    assert.equal(calls.count("configurationRead"), 3);
    assert.equal(isTransient(new TypeError("x is undefined")), false);
  });

  it("does not retry what IoT Hub refuses (412, 400), and gives up after its attempts", async () => {
    const calls = quickCalls();
    let n = 0;
    await assert.rejects(
      calls.call("configurationWrite", () => {
        n++;
        return Promise.reject(status(412));
      }),
      /412/,
    );
    assert.equal(n, 1);
    await assert.rejects(
      calls.call("query", () => Promise.reject(status(429))),
      /429/,
    );
    assert.equal(calls.count("query"), 3);
  });
});

describe("rollout labels and releases", () => {
  const rings = ["canary", "early", "all"];

  it("the rollout status round-trips through IoT Hub's label rules; Pulumi's labels are kept", () => {
    const labels = labelsWithStatus(
      { "edgek8s.track": "factory", "edgek8s.seq": "2" },
      "Aborting",
      "early",
      "2026-11-30T10:00:00.000Z",
      "Failures",
    );
    assert.deepEqual(statusFromLabels(labels, "", rings, "x"), {
      state: "Aborting",
      ring: 1,
      since: "2026-11-30T10:00:00.000Z",
      reason: "Failures",
    });
    assert.equal(labels["edgek8s.track"], "factory");
    assert.equal(reasonCode("2 failed of 3 / reported"), "2-failed-of-3-reported");
    assert.throws(() => statusFromLabels({ ...labels, "edgek8s.ring": "gone" }, "", rings, "x"), LabelError);
    assert.throws(() => statusFromLabels({ "edgek8s.state": "Bogus" }, "", rings, "x"), LabelError);
  });

  it("finds stable, candidate and previous by labels: a rollout in flight wins over a newer staged release", () => {
    const r = (id: string, priority: number, state: string, extra: Record<string, string> = {}): ReleaseRecord => ({
      id,
      track: "factory",
      priority,
      targetCondition: state === "Staged" ? "" : "tags.site = 'west'",
      labels: { "edgek8s.state": state, "edgek8s.stack": "edgek8s.prod", ...extra },
      lease: undefined,
      version: "1",
    });
    const found = trackReleases(
      [
        r("a", 1, "Superseded"),
        r("b", 2, "Stable"),
        r("c", 3, "Baking"),
        r("d", 4, "Staged"),
        r("e", 9, "Staged", { "edgek8s.stack": "edgek8s.dev" }),
        { ...r("f", 10, "Staged"), track: "vision" },
      ],
      "factory",
      "edgek8s.prod",
    );
    assert.deepEqual([found.stable?.id, found.candidate?.id, found.previous?.id], ["b", "c", "a"]);
    const next = trackReleases([r("b", 2, "Stable"), r("c", 3, "RolledBack"), r("d", 4, "Staged")], "factory");
    assert.equal(next.candidate?.id, "d");
    const undoing = trackReleases([r("a", 1, "Superseded"), r("b", 2, "Aborting")], "factory");
    assert.deepEqual([undoing.stable?.id, undoing.candidate?.id], ["a", "b"]);
  });

  it("a local stack's plan may use seconds; a hub stack's may not", () => {
    const raw = { rings: [{ name: "all", percent: 100 }], gates: { applyTimeout: "30s" }, pollInterval: "1s" };
    assert.equal(parseRolloutPlan(raw, "edgek8s:rollout", { hub: false }).ok, true);
    const hub = parseRolloutPlan(raw);
    assert.deepEqual(hub.ok ? [] : hub.problems.map((p) => p.path), [
      "edgek8s:rollout.gates.applyTimeout",
      "edgek8s:rollout.pollInterval",
    ]);
  });
});
