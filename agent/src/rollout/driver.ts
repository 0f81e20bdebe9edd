import type { RingTally } from "./classify.ts";
import { LabelError, type ReleaseState, heldByOther, statusFromLabels } from "./labels.ts";
import type { RingRow, RolloutEvent } from "./output.ts";
import { type RolloutPlan, ringConditions } from "./plan.ts";
import { type ReleaseRecord, stateOf, trackReleases } from "./releases.ts";
import {
  type Command,
  EXIT,
  type ExitCode,
  type Observation,
  type RolloutContext,
  type RolloutStatus,
  TARGETS_NOTHING,
  type Transition,
  step,
} from "./stateMachine.ts";
import { LostRace, type ReleaseStore, type RolloutWrite } from "./store.ts";

/**
 * The rollout driver: the thin edge around the pure state machine. Each step reads the candidate
 * once, observes the devices its state needs, asks `step` what comes next and writes that with one
 * guarded write (which also renews this driver's lease), so a second driver loses and any later CI
 * job resumes from the labels (ROLLOUT.md §B4).
 */
export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface DriverOptions {
  readonly store: ReleaseStore;
  readonly track: string;
  /** `<project>.<stack>`: releases labelled for another stack are not touched. */
  readonly stackId?: string;
  readonly plan: RolloutPlan;
  readonly layer: boolean;
  readonly command: Command | "undo";
  /** Index of the ring to stop after (`--until`). */
  readonly untilRing?: number;
  /** What a release that targets nothing has as its target condition (IoT Hub stacks may not take ""). */
  readonly stagedTarget?: string;
  /** This driver's name in the lease label. */
  readonly holder: string;
  /**
   * How long a lease keeps other drivers out without renewal (default 4 polls, at least 2 minutes);
   * it is renewed once half of it has passed, so a step with nothing to record usually writes nothing
   * (IoT Hub allows 20 configuration operations a minute per unit).
   */
  readonly leaseMs?: number;
  readonly clock: Clock;
  readonly emit: (event: RolloutEvent) => void;
}

export interface DriverResult {
  readonly exit: ExitCode;
  readonly state: string;
  readonly release: string | undefined;
  readonly stable: string | undefined;
  readonly rings: readonly RingRow[];
}

/** The run cannot go on (no stable release, a lease another driver holds): exit with `exit`. */
export class Stop extends Error {
  readonly exit: ExitCode;
  constructor(exit: ExitCode, message: string) {
    super(message);
    this.exit = exit;
  }
}

export async function driveRollout(o: DriverOptions): Promise<DriverResult> {
  const run = new Run(o);
  try {
    return await run.go();
  } catch (error) {
    if (error instanceof Stop || error instanceof LostRace || error instanceof LabelError) {
      const exit = error instanceof Stop ? error.exit : EXIT.preflight;
      const message =
        error instanceof LostRace
          ? `another driver changed ${run.candidateId ?? "the release"} since this one read it (${error.message}); this driver stops`
          : error.message;
      o.emit({ type: "error", time: o.clock.now().toISOString(), message, exit });
      return run.result(exit, error instanceof LostRace ? "LostRace" : "Stopped");
    }
    throw error;
  }
}

class Run {
  private readonly o: DriverOptions;
  private readonly ringNames: string[];
  private readonly rows = new Map<string, RingRow>();
  private lastProgress = "";
  candidateId: string | undefined;
  private stableId: string | undefined;
  private state = "none";

  constructor(o: DriverOptions) {
    this.o = o;
    this.ringNames = o.plan.rings.map((r) => r.name);
  }

  result(exit: ExitCode, state = this.state): DriverResult {
    return {
      exit,
      state,
      release: this.candidateId,
      stable: this.stableId,
      rings: [...this.rows.values()],
    };
  }

  private now(): Date {
    return this.o.clock.now();
  }

  private info(message: string): void {
    this.o.emit({ type: "info", time: this.now().toISOString(), message });
  }

  private get leaseMs(): number {
    return this.o.leaseMs ?? Math.max(4 * this.o.plan.pollIntervalMs, 120_000);
  }

  async go(): Promise<DriverResult> {
    const { store, track } = this.o;
    let releases = trackReleases(await store.list(), track, this.o.stackId);
    if (!releases.stable)
      throw new Stop(EXIT.preflight, `track ${track} has no stable release in ${store.where}; run pulumi up first`);
    for (const stale of releases.staleStable) await this.mark(stale, "Superseded", "a newer release is stable");
    let command = this.o.command;
    if (command === "undo") {
      const { stable, previous } = releases;
      if (stateOf(stable) !== "Stable" || !previous)
        throw new Stop(EXIT.preflight, `track ${track} has no superseded release to go back to`);
      if (releases.candidate && ["Applying", "Verifying", "Baking", "Paused"].includes(stateOf(releases.candidate)))
        throw new Stop(EXIT.preflight, `${releases.candidate.id} is being rolled out; abort it first (--abort)`);
      await this.write(stable, {
        targetCondition: this.targetFor(TARGETS_NOTHING),
        state: "Aborting",
        ring: this.ringNames.at(-1),
        since: this.now().toISOString(),
        reason: "Undo",
        lease: { holder: this.o.holder, renewed: this.now().toISOString() },
      });
      this.emitTransition(
        stable.id,
        "Aborting",
        this.ringNames.length - 1,
        "Undo",
        `undo: devices fall back to ${previous.id}`,
      );
      releases = trackReleases(await store.list(), track, this.o.stackId);
      command = "run";
    }
    const { candidate, stable } = releases;
    this.stableId = stable?.id;
    if (!candidate || !stable) {
      this.state = "Stable";
      this.info(`nothing to roll out: ${stable?.id ?? "no release"} is the stable release of ${track}`);
      return this.result(EXIT.done);
    }
    this.candidateId = candidate.id;
    return this.loop(candidate, stable, command);
  }

  private async loop(first: ReleaseRecord, stable: ReleaseRecord, initial: Command): Promise<DriverResult> {
    const { store, plan } = this.o;
    const ctx: RolloutContext = {
      plan,
      trackTarget: stable.targetCondition,
      candidate: first.id,
      stable: stable.id,
      layer: this.o.layer,
      ...(this.o.untilRing !== undefined ? { untilRing: this.o.untilRing } : {}),
    };
    const conditions = ringConditions(ctx.trackTarget, plan.rings);
    let command = initial;
    let deleted: RolloutStatus | undefined;
    for (;;) {
      const now = this.now();
      const record = deleted ? undefined : await store.read(first.id);
      if (!deleted && !record) throw new Stop(EXIT.preflight, `${first.id} is gone from ${store.where}`);
      if (record && heldByOther(record.lease, this.o.holder, now, this.leaseMs))
        throw new Stop(
          EXIT.preflight,
          `${first.id} is driven by ${record.lease?.holder ?? "?"} (lease renewed ${record.lease?.renewed ?? "?"}); this driver stops`,
        );
      const status =
        deleted ?? statusFromLabels(record!.labels, record!.targetCondition, this.ringNames, now.toISOString());
      this.state = status.state;
      // A rollback is verified on the devices of the ring the candidate had reached.
      const obs = await this.observe(status, conditions[status.ring]!, ctx, now);
      const t = step(ctx, status, obs, command);
      command = "run"; // a resume, retry or abort is used by the first step only
      const row = this.recordTally(status, obs, t.tally);
      if (row && t.status.state !== status.state && ["Baking", "Aborting"].includes(status.state))
        this.o.emit({ type: "ring", time: now.toISOString(), row });
      if (record) await this.persist(record, status, t);
      else deleted = t.status;
      if (t.status.state === "RolledBack") await this.restoreStable(stable);
      if (t.promote) {
        await this.mark(stable, "Superseded", "superseded");
        this.stableId = first.id;
      }
      if (t.deleteCandidate) {
        await store.remove(first.id);
        deleted = t.status;
      }
      if (t.event !== undefined && (t.status !== status || t.exit !== undefined))
        this.emitTransition(first.id, t.promote ? "Stable" : t.status.state, t.status.ring, t.status.reason, t.event);
      this.state = t.status.state;
      if (t.exit !== undefined) return this.result(t.exit);
      await this.o.clock.sleep(plan.pollIntervalMs);
    }
  }

  private async observe(status: RolloutStatus, condition: string, ctx: RolloutContext, now: Date) {
    const none: Observation = { now, expected: 0, applied: 0, reports: [] };
    const active = ["Applying", "Verifying", "Baking", "Aborting"].includes(status.state);
    if (!active) return none;
    return this.o.store.observe({
      now,
      condition,
      trackCondition: ctx.trackTarget,
      judged: status.state === "Aborting" ? ctx.stable : ctx.candidate,
      candidate: ctx.candidate,
      reports: status.state !== "Applying",
      gates: this.o.plan.gates,
    });
  }

  /** At most one guarded write per step: the new state when it changed, else the lease's renewal when due. */
  private async persist(record: ReleaseRecord, status: RolloutStatus, t: Transition): Promise<void> {
    const changed = t.status !== status || t.target !== undefined;
    const ending = t.exit !== undefined;
    if (!changed && ending) return;
    const renewed = record.lease?.holder === this.o.holder ? Date.parse(record.lease.renewed) : Number.NaN;
    if (!changed && this.now().getTime() - renewed < this.leaseMs / 2) return;
    const now = this.now().toISOString();
    const state: ReleaseState = t.promote ? "Stable" : t.status.state;
    await this.write(record, {
      ...(t.target !== undefined ? { targetCondition: this.targetFor(t.target) } : {}),
      state,
      ring: this.ringNames[t.status.ring],
      since: t.status.since,
      ...(t.status.reason !== undefined ? { reason: t.status.reason } : {}),
      lease: ending ? undefined : { holder: this.o.holder, renewed: now },
    });
  }

  private targetFor(target: string): string {
    return target === TARGETS_NOTHING ? (this.o.stagedTarget ?? TARGETS_NOTHING) : target;
  }

  private async write(record: ReleaseRecord, change: RolloutWrite): Promise<ReleaseRecord> {
    return this.o.store.write(record, change);
  }

  /** Marks another release (the old stable) with a state, read fresh so its version is current. */
  private async mark(release: ReleaseRecord, state: ReleaseState, reason: string): Promise<void> {
    const fresh = await this.o.store.read(release.id);
    if (!fresh || stateOf(fresh) === state) return;
    await this.write(fresh, { state, since: this.now().toISOString(), reason, lease: undefined });
  }

  /** After a rollback the release devices run again is the stable one (after an undo it was Superseded). */
  private async restoreStable(stable: ReleaseRecord): Promise<void> {
    await this.mark(stable, "Stable", "RolledBackTo");
  }

  /** Keeps the ring's latest numbers for the table (a rollback's on a row of its own); progress when they change. */
  private recordTally(status: RolloutStatus, obs: Observation, tally: RingTally | undefined): RingRow | undefined {
    if (!tally) return undefined;
    const name = this.ringNames[status.ring] ?? `#${status.ring}`;
    const row: RingRow = {
      ring: status.state === "Aborting" ? `${name} (rollback)` : name,
      applied: obs.applied,
      tally,
    };
    this.rows.set(row.ring, row);
    const key = JSON.stringify([
      row.ring,
      row.applied,
      tally.succeeded,
      tally.failed,
      tally.unreachable,
      tally.pending,
    ]);
    if (key !== this.lastProgress) {
      this.lastProgress = key;
      this.o.emit({ type: "progress", time: this.now().toISOString(), row });
    }
    return row;
  }

  private emitTransition(release: string, state: string, ring: number, reason: string | undefined, message: string) {
    const name = this.ringNames[ring] ?? `#${ring}`;
    this.o.emit({
      type: "transition",
      time: this.now().toISOString(),
      track: this.o.track,
      release,
      state,
      ring: name,
      ...(reason !== undefined ? { reason } : {}),
      message,
    });
  }
}
