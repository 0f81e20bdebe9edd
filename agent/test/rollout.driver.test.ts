import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type DriverOptions, driveRollout } from "../src/rollout/driver.ts";
import type { RolloutEvent } from "../src/rollout/output.ts";
import { type RolloutPlan, parseRolloutPlan, ringConditions } from "../src/rollout/plan.ts";
import { EXIT } from "../src/rollout/stateMachine.ts";
import { FleetStore, device } from "./rollout/fleetStore.ts";

const T0 = Date.parse("2026-11-30T10:00:00Z");
const STABLE = "ek8s-factory-ssssssssssss";
const CANDIDATE = "ek8s-factory-cccccccccccc";
const TARGET = "tags.site = 'west'";

class Killed extends Error {}

/** A clock that moves only when the driver sleeps; hooks run at each sleep (the world moving on). */
class FakeClock {
  t = T0;
  sleeps = 0;
  killAfterSleeps: number | undefined;
  readonly hooks: ((now: number) => void)[] = [];
  now = () => new Date(this.t);
  sleep = (ms: number): Promise<void> => {
    this.t += ms;
    this.sleeps++;
    for (const hook of this.hooks) hook(this.t);
    if (this.killAfterSleeps !== undefined && this.sleeps >= this.killAfterSleeps) return Promise.reject(new Killed());
    return Promise.resolve();
  };
}

function plan(over: Record<string, unknown> = {}): RolloutPlan {
  const parsed = parseRolloutPlan(
    {
      rings: [
        { name: "canary", select: "tags.ring = 'canary'", bake: "60s" },
        { name: "early", percent: 50, bake: "60s" },
        { name: "all", percent: 100, bake: "0" },
      ],
      gates: { applyTimeout: "60s", reportTimeout: "120s", readyGrace: "30s", staleAfter: "60s", minExecuted: 2 },
      pollInterval: "10s",
      ...over,
    },
    "edgek8s:rollout",
    { hub: false },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.plan;
}

/** Two canaries and eight more devices, buckets spread over 0–99; the stable release applied everywhere. */
function fleet(clock: FakeClock): FleetStore {
  const store = new FleetStore(clock.now);
  store.devices.push(device("canary-1", { site: "west", ring: "canary", edgek8s: { bucket: 90 } }));
  store.devices.push(device("canary-2", { site: "west", ring: "canary", edgek8s: { bucket: 95 } }));
  for (let i = 0; i < 8; i++) store.devices.push(device(`gw-${i}`, { site: "west", edgek8s: { bucket: i * 12 } }));
  store.addRelease(STABLE, 1, TARGET);
  store.addRelease(CANDIDATE, 2, "");
  return store;
}

function options(store: FleetStore, clock: FakeClock, over: Partial<DriverOptions> = {}) {
  const events: RolloutEvent[] = [];
  const o: DriverOptions = {
    store,
    track: "factory",
    plan: plan(),
    layer: false,
    command: "run",
    holder: "driver-a",
    leaseMs: 30_000,
    clock,
    emit: (e) => events.push(e),
    ...over,
  };
  return { o, events };
}

const label = (store: FleetStore, id: string, key = "edgek8s.state") => store.releases.get(id)?.labels[key];
const errorOf = (events: RolloutEvent[]) => {
  const last = events.at(-1);
  return last?.type === "error" ? last.message : "";
};
const transitions = (events: RolloutEvent[]) =>
  events.flatMap((e) => (e.type === "transition" ? [`${e.state}/${e.ring}`] : []));

describe("rollout driver over a simulated fleet", () => {
  it("canary → all: every ring verified and baked, the candidate becomes stable, the old one superseded", async () => {
    const clock = new FakeClock();
    const store = fleet(clock);
    const { o, events } = options(store, clock);
    const result = await driveRollout(o);
    assert.equal(result.exit, EXIT.done);
    assert.deepEqual(transitions(events), [
      "Applying/canary",
      "Verifying/canary",
      "Baking/canary",
      "Applying/early",
      "Verifying/early",
      "Baking/early",
      "Applying/all",
      "Verifying/all",
      "Baking/all",
      "Stable/all",
    ]);
    assert.equal(label(store, CANDIDATE), "Stable");
    assert.equal(label(store, STABLE), "Superseded");
    assert.equal(store.releases.get(CANDIDATE)?.targetCondition, TARGET);
    assert.equal(store.releases.get(STABLE)?.targetCondition, TARGET, "the old stable keeps its target");
    assert.ok(store.devices.every((d) => d.applied === CANDIDATE && d.ready === true));
    assert.deepEqual(
      result.rings.map((r) => [r.ring, r.tally.expected, r.tally.succeeded]),
      [
        ["canary", 2, 2],
        ["early", 7, 7],
        ["all", 10, 10],
      ],
    );
    assert.equal(store.releases.get(CANDIDATE)?.lease, undefined, "the lease is released at the end");
    // A second run finds nothing to do.
    const writes = store.writes.length;
    const again = options(store, clock);
    assert.equal((await driveRollout(again.o)).exit, EXIT.done);
    assert.equal(store.writes.length, writes, "and writes nothing");
  });

  it("a module that crashes during bake aborts the ring; the rollback is verified against the stable release", async () => {
    const clock = new FakeClock();
    const store = fleet(clock);
    const crashing = store.devices[0]!;
    clock.hooks.push(() => {
      if (label(store, CANDIDATE) === "Baking" && crashing.applied === CANDIDATE && crashing.ready === true) {
        crashing.ready = false;
        crashing.readySince = new Date(clock.t).toISOString();
      }
    });
    const { o, events } = options(store, clock);
    const result = await driveRollout(o);
    assert.equal(result.exit, EXIT.rolledBack);
    assert.deepEqual(transitions(events), [
      "Applying/canary",
      "Verifying/canary",
      "Baking/canary",
      "Aborting/canary",
      "RolledBack/canary",
    ]);
    const aborting = events.find((e) => e.type === "transition" && e.state === "Aborting");
    assert.match(aborting?.type === "transition" ? aborting.message : "", /1 failed of 2 reported, during bake/);
    assert.equal(store.releases.get(CANDIDATE)?.targetCondition, "", "the candidate targets nothing");
    assert.equal(label(store, CANDIDATE, "edgek8s.reason"), "Failures");
    assert.equal(label(store, STABLE), undefined, "the stable release is left as Pulumi made it");
    assert.ok(store.devices.every((d) => d.applied === STABLE));
    const failing = result.rings.find((r) => r.ring === "canary")?.tally.failing ?? [];
    assert.deepEqual(
      failing.map((f) => f.deviceId),
      ["canary-1"],
    );
    assert.match(failing[0]?.reason ?? "", /modules not ready for \d+ s/);
    // The next run (CI re-run with the same manifest) does not roll it out again …
    const rerun = options(store, clock);
    assert.equal((await driveRollout(rerun.o)).exit, EXIT.rolledBack);
    assert.equal(store.releases.get(CANDIDATE)?.targetCondition, "");
    // … --retry does (the crash fixed).
    crashing.crashOn.clear();
    clock.hooks.length = 0;
    const retry = options(store, clock, { command: "retry" });
    assert.equal((await driveRollout(retry.o)).exit, EXIT.done);
    assert.equal(label(store, CANDIDATE), "Stable");
  });

  it("a device refusing the release fails the canary at once (maxFailures 0 for the first ring)", async () => {
    const clock = new FakeClock();
    const store = fleet(clock);
    store.devices[1]!.failOn.add(CANDIDATE);
    const { o } = options(store, clock);
    const result = await driveRollout(o);
    assert.equal(result.exit, EXIT.rolledBack);
    assert.match(result.rings.find((r) => r.ring === "canary")?.tally.failing[0]?.reason ?? "", /^500/);
  });

  it("an offline device counts as unreachable, neither blocking nor failing its ring, and is listed", async () => {
    const clock = new FakeClock();
    const store = fleet(clock);
    const offline = store.devices.find((d) => d.id === "gw-1")!;
    offline.online = false;
    offline.heartbeat = new Date(T0 - 3_600_000).toISOString();
    const { o } = options(store, clock);
    const result = await driveRollout(o);
    assert.equal(result.exit, EXIT.done);
    const all = result.rings.find((r) => r.ring === "all")?.tally;
    assert.deepEqual([all?.succeeded, all?.unreachable, all?.unreachableDevices], [9, 1, ["gw-1"]]);
  });

  it("index lag: the engine applies only every third poll; no ring is judged before it is applied", async () => {
    const clock = new FakeClock();
    const store = fleet(clock);
    store.engineEvery = 3;
    const { o, events } = options(store, clock);
    const result = await driveRollout(o);
    assert.equal(result.exit, EXIT.done);
    const verifying = events.flatMap((e) =>
      e.type === "transition" && e.state === "Verifying" ? [/applied on (\d+) of (\d+)/.exec(e.message)] : [],
    );
    assert.equal(verifying.length, 3);
    assert.ok(
      verifying.every((m) => m !== null && m[1] === m[2]),
      "each ring judged once applied on all its devices",
    );
    const progress = events.flatMap((e) => (e.type === "progress" ? [e.row] : []));
    assert.ok(progress.every((row) => row.tally.failed === 0));
    assert.ok(clock.sleeps > 3 * 3, "the driver waited through the lag");
  });

  it("a manual gate pauses with exit 2; --resume passes it; --until stops with exit 0 and is resumed", async () => {
    const clock = new FakeClock();
    const store = fleet(clock);
    const manual = plan({
      rings: [
        { name: "canary", select: "tags.ring = 'canary'", bake: "60s" },
        { name: "early", percent: 50, bake: "60s", gate: "manual" },
        { name: "all", percent: 100 },
      ],
    });
    const first = await driveRollout(options(store, clock, { plan: manual, untilRing: 0 }).o);
    assert.deepEqual(
      [first.exit, label(store, CANDIDATE), label(store, CANDIDATE, "edgek8s.reason")],
      [EXIT.done, "Paused", "Until"],
    );
    const second = await driveRollout(options(store, clock, { plan: manual, command: "resume" }).o);
    assert.deepEqual([second.exit, label(store, CANDIDATE, "edgek8s.ring")], [EXIT.paused, "early"]);
    const notYet = await driveRollout(options(store, clock, { plan: manual }).o);
    assert.equal(notYet.exit, EXIT.paused, "without --resume it stays at the gate");
    const third = await driveRollout(options(store, clock, { plan: manual, command: "resume" }).o);
    assert.deepEqual([third.exit, label(store, CANDIDATE)], [EXIT.done, "Stable"]);
  });

  it("a driver killed mid-bake is resumed by the next from the labels: the bake's remainder, no ring again", async () => {
    const clock = new FakeClock();
    const store = fleet(clock);
    clock.killAfterSleeps = 4;
    await assert.rejects(driveRollout(options(store, clock).o), Killed);
    assert.equal(label(store, CANDIDATE), "Baking");
    const bakingSince = label(store, CANDIDATE, "edgek8s.since");
    // A second driver at once is kept out by the lease …
    clock.killAfterSleeps = undefined;
    const early = options(store, clock, { holder: "driver-b" });
    const refused = await driveRollout(early.o);
    assert.equal(refused.exit, EXIT.preflight);
    assert.match(errorOf(early.events), /driven by driver-a/);
    // … once the dead driver's lease has expired, the next one resumes.
    clock.t += 31_000;
    const writesBefore = store.writes.length;
    const resumed = options(store, clock, { holder: "driver-b" });
    assert.equal((await driveRollout(resumed.o)).exit, EXIT.done);
    const targets = store.writes.slice(writesBefore).flatMap((w) => w.change.targetCondition ?? []);
    const [, earlyRing, allRings] = ringConditions(TARGET, plan().rings);
    assert.deepEqual(
      targets,
      [earlyRing, allRings],
      "only rings early and all are targeted; canary is not started again",
    );
    assert.equal(transitions(resumed.events)[0], "Applying/early");
    // It waited out the rest of the canary's bake, counted from when the killed driver started it.
    const resumedAt = resumed.events.find((e) => e.type === "transition")?.time ?? "";
    assert.ok(Date.parse(resumedAt) - Date.parse(bakingSince ?? "") >= 60_000);
  });

  it("two drivers at once: the write of the one that read first loses (412), it exits 6 and leaves the rollout alone", async () => {
    const clock = new FakeClock();
    const store = fleet(clock);
    let raced = false;
    store.beforeWrite = (id) => {
      if (!raced && label(store, CANDIDATE) === "Verifying") {
        raced = true;
        store.touch(id); // the other driver wrote between this driver's read and write
      }
    };
    const { o, events } = options(store, clock);
    const result = await driveRollout(o);
    assert.equal(result.exit, EXIT.preflight);
    assert.match(errorOf(events), /another driver changed/);
    assert.equal(label(store, CANDIDATE), "Verifying", "nothing written after the lost race");
  });

  it("--undo goes back to the superseded release, verified, and makes it stable again", async () => {
    const clock = new FakeClock();
    const store = fleet(clock);
    assert.equal((await driveRollout(options(store, clock).o)).exit, EXIT.done);
    const undo = options(store, clock, { command: "undo" });
    const result = await driveRollout(undo.o);
    assert.equal(result.exit, EXIT.rolledBack);
    assert.deepEqual([label(store, CANDIDATE), label(store, STABLE)], ["RolledBack", "Stable"]);
    assert.ok(store.devices.every((d) => d.applied === STABLE));
    assert.equal(result.rings.at(-1)?.tally.succeeded, 10);
  });

  it("a layer that does not fall back when un-targeted is deleted, then the rollback verified", async () => {
    const clock = new FakeClock();
    const store = new FleetStore(clock.now);
    store.stickyLayers = true;
    store.devices.push(device("canary-1", { site: "west", ring: "canary", edgek8s: { bucket: 1 } }));
    store.addRelease(STABLE, 1_000_000, TARGET, {}, true);
    store.addRelease(CANDIDATE, 1_000_001, "", {}, true);
    store.devices[0]!.failOn.add(CANDIDATE);
    const { o, events } = options(store, clock, { layer: true });
    const result = await driveRollout(o);
    assert.equal(result.exit, EXIT.rolledBack);
    assert.equal(store.releases.has(CANDIDATE), false, "the layer was deleted");
    assert.ok(events.some((e) => e.type === "transition" && /did not fall back/.test(e.message)));
  });

  it("a long bake writes only the lease's renewals, once per half lease (IoT Hub's configuration budget)", async () => {
    const clock = new FakeClock();
    const store = fleet(clock);
    const longBake = plan({
      rings: [
        { name: "canary", select: "tags.ring = 'canary'", bake: "10m" },
        { name: "all", percent: 100 },
      ],
    });
    const { o } = options(store, clock, { plan: longBake, leaseMs: 120_000 });
    assert.equal((await driveRollout(o)).exit, EXIT.done);
    const baking = store.writes.filter((w) => w.change.state === "Baking" && w.change.ring === "canary");
    // One write entering Baking, then a renewal every 60 s of the 600 s bake: 61 polls, 11 writes.
    assert.ok(baking.length <= 11, `${baking.length} writes while baking`);
    assert.ok(baking.length >= 9, "the lease was renewed while baking");
  });

  it("a track without a stable release, or with nothing staged, says so", async () => {
    const clock = new FakeClock();
    const store = new FleetStore(clock.now);
    const none = options(store, clock);
    assert.equal((await driveRollout(none.o)).exit, EXIT.preflight);
    store.addRelease(STABLE, 1, TARGET);
    const idle = options(store, clock);
    assert.equal((await driveRollout(idle.o)).exit, EXIT.done);
    assert.match(idle.events[0]?.type === "info" ? idle.events[0].message : "", /nothing to roll out/);
  });
});
