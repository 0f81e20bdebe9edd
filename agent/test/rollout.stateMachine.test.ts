import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type DeviceReport, classifyDevice, tally, verdict } from "../src/rollout/classify.ts";
import { DEFAULT_GATES, type RolloutPlan, parseRolloutPlan } from "../src/rollout/plan.ts";
import {
  EXIT,
  type Observation,
  type RolloutContext,
  type RolloutStatus,
  type Transition,
  step,
} from "../src/rollout/stateMachine.ts";

const T0 = Date.parse("2026-11-30T10:00:00Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000);

function plan(overrides: Record<string, unknown> = {}): RolloutPlan {
  const parsed = parseRolloutPlan({
    rings: [
      { name: "canary", select: "tags.ring = 'canary'", bake: "10m" },
      { name: "early", percent: 50, bake: "10m", gate: "manual" },
      { name: "all", percent: 100, bake: "0" },
    ],
    gates: {
      applyTimeout: "10m",
      reportTimeout: "15m",
      readyGrace: "5m",
      staleAfter: "15m",
      minExecuted: 2,
      maxFailurePercent: 20,
    },
    ...overrides,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.plan;
}

const ctx = (p = plan(), extra: Partial<RolloutContext> = {}): RolloutContext => ({
  plan: p,
  trackTarget: "tags.site = 'west'",
  candidate: "ek8s-factory-cccccccccccc",
  stable: "ek8s-factory-ssssssssssss",
  layer: false,
  ...extra,
});

function report(deviceId: string, over: Partial<DeviceReport> = {}, now = at(0)): DeviceReport {
  return {
    deviceId,
    appliedConfiguration: "ek8s-factory-cccccccccccc",
    desiredVersion: 7,
    lastDesiredVersion: 7,
    code: 200,
    readyVersion: 7,
    ready: true,
    readySince: new Date(now.getTime() - 1000).toISOString(),
    heartbeat: new Date(now.getTime() - 1000).toISOString(),
    ...over,
  };
}

const status = (state: RolloutStatus["state"], ring: number, sinceSeconds = 0, reason?: string): RolloutStatus => ({
  state,
  ring,
  since: at(sinceSeconds).toISOString(),
  ...(reason !== undefined ? { reason } : {}),
});

const obs = (now: Date, expected: number, applied: number, reports: DeviceReport[] = []): Observation => ({
  now,
  expected,
  applied,
  reports,
});

describe("classifying a device", () => {
  const gates = DEFAULT_GATES;
  const c = (over: Partial<DeviceReport>, now = at(0)) =>
    classifyDevice(report("d", over, now), "ek8s-factory-cccccccccccc", gates, now).class;
  it("succeeded only when version-matched, 200, ready for that version", () => {
    assert.equal(c({}), "succeeded");
    assert.equal(c({ readyVersion: 6 }), "pending");
    assert.equal(c({ lastDesiredVersion: 6 }), "pending");
    assert.equal(c({ appliedConfiguration: "other" }), "pending");
  });
  it("failed when version-matched with an error code, or not ready past the grace period", () => {
    assert.equal(c({ code: 400 }), "failed");
    assert.equal(c({ code: 500, lastDesiredVersion: 6 }), "pending");
    assert.equal(c({ ready: false, readySince: at(-60).toISOString() }), "pending");
    assert.equal(c({ ready: false, readySince: at(-301).toISOString() }), "failed");
  });
  it("unreachable when the heartbeat is stale or the agent reports 406", () => {
    assert.equal(c({ heartbeat: at(-901).toISOString() }), "unreachable");
    assert.equal(c({ heartbeat: undefined }), "unreachable");
    assert.equal(c({ code: 406 }), "unreachable");
  });
  it("the verdict: maxFailures, failure share after minExecuted, success share of reachable devices, unreachable limit", () => {
    const g = {
      ...DEFAULT_GATES,
      minExecuted: 3,
      maxFailurePercent: 25,
      successPercent: 90,
      maxUnreachablePercent: 20,
    };
    assert.equal(verdict({ ...tally(10, []), succeeded: 1, failed: 1 }, g, 0), "abort");
    assert.equal(verdict({ ...tally(10, []), succeeded: 1, failed: 1 }, g, undefined), "wait");
    assert.equal(verdict({ ...tally(10, []), succeeded: 2, failed: 1 }, g, undefined), "abort");
    assert.equal(verdict({ ...tally(10, []), succeeded: 9, failed: 1 }, g, undefined), "pass");
    assert.equal(verdict({ ...tally(10, []), succeeded: 9, unreachable: 1, failed: 0 }, g, undefined), "pass");
    assert.equal(verdict({ ...tally(10, []), succeeded: 8, unreachable: 1, failed: 0 }, g, undefined), "wait");
    assert.equal(
      verdict({ ...tally(10, []), succeeded: 7, unreachable: 3, failed: 0 }, g, undefined),
      "tooManyUnreachable",
    );
    assert.equal(verdict({ ...tally(0, []) }, g, 0), "pass");
  });
});

describe("rollout state machine", () => {
  it("walks a good release ring by ring, pausing at the manual gate, to Complete", () => {
    const c = ctx();
    const trace: string[] = [];
    let s = status("Staged", 0);
    let t: Transition;
    const drive = (o: Observation, command: "run" | "resume" = "run") => {
      t = step(c, s, o, command);
      if (t.status.state !== s.state)
        trace.push(`${t.status.state}/${t.status.ring}${t.exit !== undefined ? ` exit ${t.exit}` : ""}`);
      s = t.status;
      return t;
    };
    assert.equal(drive(obs(at(0), 0, 0)).target, "(tags.site = 'west') AND ((tags.ring = 'canary'))");
    drive(obs(at(30), 2, 1));
    drive(obs(at(60), 2, 2));
    drive(obs(at(90), 2, 2, [report("c1", {}, at(90))]));
    drive(obs(at(120), 2, 2, [report("c1", {}, at(120)), report("c2", {}, at(120))]));
    drive(obs(at(300), 2, 2, [report("c1", {}, at(300)), report("c2", {}, at(300))]));
    const next = drive(obs(at(721), 2, 2, [report("c1", {}, at(721)), report("c2", {}, at(721))]));
    assert.equal(next.target, "(tags.site = 'west') AND ((tags.ring = 'canary') OR tags.edgek8s.bucket < 50)");
    drive(obs(at(750), 5, 5));
    const five = (now: Date) => ["a", "b", "c", "d", "e"].map((d) => report(d, {}, now));
    drive(obs(at(780), 5, 5, five(at(780))));
    const paused = drive(obs(at(1400), 5, 5, five(at(1400))));
    assert.equal(paused.exit, EXIT.paused);
    assert.equal(step(c, s, obs(at(1500), 5, 5), "run").exit, EXIT.paused);
    assert.equal(drive(obs(at(5000), 5, 5), "resume").target, "tags.site = 'west'");
    drive(obs(at(5030), 9, 9));
    const last = (now: Date) => Array.from({ length: 9 }, (_, i) => report(`d${i}`, {}, now));
    drive(obs(at(5060), 9, 9, last(at(5060))));
    const done = drive(obs(at(5061), 9, 9, last(at(5061))));
    assert.equal(done.promote, true);
    assert.equal(done.exit, EXIT.done);
    assert.deepEqual(trace, [
      "Applying/0",
      "Verifying/0",
      "Baking/0",
      "Applying/1",
      "Verifying/1",
      "Baking/1",
      "Paused/1 exit 2",
      "Applying/2",
      "Verifying/2",
      "Baking/2",
      "Complete/2 exit 0",
    ]);
  });

  it("aborts the canary on its first failure, un-targets the candidate and verifies the rollback", () => {
    const c = ctx();
    const aborting = step(
      c,
      status("Verifying", 0),
      obs(at(60), 2, 2, [report("c1", { code: 500, description: "pull failed" }, at(60))]),
      "run",
    );
    assert.equal(aborting.status.state, "Aborting");
    assert.equal(aborting.target, "");
    assert.deepEqual(
      aborting.tally?.failing.map((f) => f.reason),
      ["500: pull failed"],
    );
    const onStable = (now: Date, over: Partial<DeviceReport> = {}) =>
      report(
        "c1",
        { appliedConfiguration: c.stable, desiredVersion: 9, lastDesiredVersion: 9, readyVersion: 9, ...over },
        now,
      );
    const waiting = step(c, aborting.status, obs(at(90), 2, 0, [onStable(at(90), { lastDesiredVersion: 8 })]), "run");
    assert.equal(waiting.status.state, "Aborting");
    const back = step(
      c,
      aborting.status,
      obs(at(120), 2, 0, [onStable(at(120)), { ...onStable(at(120)), deviceId: "c2" }]),
      "run",
    );
    assert.equal(back.status.state, "RolledBack");
    assert.equal(back.exit, EXIT.rolledBack);
    assert.equal(back.status.reason, "Failures");
  });

  it("aborts during bake when a module crashes after the 200 (ready turns false past the grace)", () => {
    const c = ctx();
    const crashed = report("c1", { ready: false, readySince: at(300).toISOString() }, at(700));
    const t = step(c, status("Baking", 0, 200), obs(at(700), 2, 2, [crashed, report("c2", {}, at(700))]), "run");
    assert.equal(t.status.state, "Aborting");
  });

  it("halts instead of rolling back when onFailure is halt", () => {
    const c = ctx(plan({ onFailure: "halt" }));
    const t = step(c, status("Verifying", 0), obs(at(60), 1, 1, [report("c1", { code: 400 }, at(60))]), "run");
    assert.equal(t.status.state, "Halted");
    assert.equal(t.exit, EXIT.halted);
    assert.equal(t.target, undefined);
  });

  it("unreachable devices neither block nor fail a ring, up to the limit", () => {
    const c = ctx(plan({ gates: { maxUnreachablePercent: 40, applyTimeout: "10m" } }));
    const stale = (id: string, now: Date) => report(id, { heartbeat: at(-2000).toISOString() }, now);
    const ok = step(
      c,
      status("Verifying", 0),
      obs(at(60), 3, 3, [report("a", {}, at(60)), report("b", {}, at(60)), stale("c", at(60))]),
      "run",
    );
    assert.equal(ok.status.state, "Baking");
    assert.deepEqual(ok.tally?.unreachableDevices, ["c"]);
    const tooMany = step(
      c,
      status("Verifying", 0),
      obs(at(60), 3, 3, [report("a", {}, at(60)), stale("b", at(60)), stale("c", at(60))]),
      "run",
    );
    assert.equal(tooMany.status.state, "Halted");
    assert.equal(tooMany.status.reason, "TooManyUnreachable");
  });

  it("times out: hub not applying → Halted; no reports → onFailure; rollback never verified → RollbackFailed", () => {
    const c = ctx();
    assert.equal(step(c, status("Applying", 0), obs(at(601), 2, 1), "run").status.reason, "HubNotApplying");
    assert.equal(step(c, status("Applying", 0), obs(at(599), 2, 1), "run").status.state, "Applying");
    assert.equal(
      step(c, status("Verifying", 0), obs(at(901), 2, 2, [report("a", { lastDesiredVersion: 6 }, at(901))]), "run")
        .status.state,
      "Aborting",
    );
    const failed = step(
      c,
      status("Aborting", 0, 0, "x"),
      obs(at(1501), 1, 0, [report("a", { appliedConfiguration: "ek8s-factory-cccccccccccc" }, at(1501))]),
      "run",
    );
    assert.equal(failed.status.state, "RollbackFailed");
    assert.equal(failed.exit, EXIT.rollbackFailed);
  });

  it("deletes a layer candidate that does not fall back, once, then keeps verifying", () => {
    const c = ctx(plan(), { layer: true });
    const stuck = [report("a", { appliedConfiguration: "ek8s-factory-cccccccccccc" }, at(700))];
    const del = step(c, status("Aborting", 0, 0, "r"), obs(at(700), 1, 1, stuck), "run");
    assert.equal(del.deleteCandidate, true);
    const again = step(c, del.status, obs(at(710), 1, 1, stuck), "run");
    assert.equal(again.deleteCandidate, undefined);
    assert.equal(again.status.state, "Aborting");
  });

  it("resumes where a killed driver stopped: mid-bake it waits out the rest of the bake", () => {
    const c = ctx();
    const s = status("Baking", 0, 100);
    const early = step(c, s, obs(at(400), 2, 2, [report("a", {}, at(400)), report("b", {}, at(400))]), "run");
    assert.equal(early.status, s);
    const late = step(c, s, obs(at(701), 2, 2, [report("a", {}, at(701)), report("b", {}, at(701))]), "run");
    assert.equal(late.status.state, "Applying");
    assert.equal(late.status.ring, 1);
  });

  it("--until stops with exit 0 after that ring; --abort aborts any active state; final states only report", () => {
    const c = ctx(plan(), { untilRing: 0 });
    const until = step(c, status("Baking", 0), obs(at(601), 1, 1, [report("a", {}, at(601))]), "run");
    assert.deepEqual([until.status.state, until.status.reason, until.exit], ["Paused", "Until", EXIT.done]);
    assert.equal(step(c, until.status, obs(at(700), 1, 1), "resume").status.state, "Applying");
    assert.equal(step(c, status("Baking", 1), obs(at(10), 1, 1), "abort").status.state, "Aborting");
    const done = step(c, status("RolledBack", 0, 0, "x"), obs(at(10), 0, 0), "resume");
    assert.deepEqual([done.status.state, done.exit, done.target], ["RolledBack", EXIT.rolledBack, undefined]);
  });
});
