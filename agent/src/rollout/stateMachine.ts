import { type DeviceReport, type RingTally, classifyDevice, tally, verdict } from "./classify.ts";
import { type Gates, type RolloutPlan, ringConditions } from "./plan.ts";

/**
 * The rollout state machine (ROLLOUT.md §B4): pure. Its state lives on the candidate release itself
 * (labels on the IoT Hub configuration, or the EdgeRelease), so any CI job can resume it; each call
 * looks at one observation of the hub and returns the next state, the candidate's new target
 * condition when it moves, and an exit code when the run should stop.
 *
 *   Staged → per ring: Applying → Verifying → Baking → (auto: next ring | manual: Paused) → … → Complete
 *   any active state → Aborting → RolledBack | RollbackFailed        (onFailure: rollback, or --abort)
 *   any active state → Halted                                        (onFailure: halt, hub not applying)
 */
export type RolloutState =
  | "Staged"
  | "Applying"
  | "Verifying"
  | "Baking"
  | "Paused"
  | "Complete"
  | "Aborting"
  | "RolledBack"
  | "RollbackFailed"
  | "Halted";

export interface RolloutStatus {
  readonly state: RolloutState;
  readonly ring: number;
  /** When the current state was entered (ISO 8601). */
  readonly since: string;
  readonly reason?: string;
  /** Set once an un-targeted layer that did not fall back has been deleted. */
  readonly candidateDeleted?: true;
}

/** Exit codes CI can branch on (ROLLOUT.md §B5). */
export const EXIT = {
  done: 0,
  paused: 2,
  rolledBack: 3,
  halted: 4,
  rollbackFailed: 5,
  preflight: 6,
  usage: 64,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface Observation {
  readonly now: Date;
  /** Devices the candidate's current target condition selects. */
  readonly expected: number;
  /** Of those, devices on which IoT Hub reports the candidate Applied. */
  readonly applied: number;
  /** Reports of the devices in the ring (for Verifying/Baking: judged against the candidate; for Aborting: against the stable release). */
  readonly reports: readonly DeviceReport[];
  /**
   * The ring already counted per class, when it is too large to read each device's twin (IoT Hub
   * `COUNT()` queries whose conditions are those of `classifyDevice`); used instead of `reports`.
   */
  readonly tally?: RingTally;
}

export interface RolloutContext {
  readonly plan: RolloutPlan;
  readonly trackTarget: string;
  readonly candidate: string;
  readonly stable: string;
  /** A layer that does not fall back when un-targeted is deleted (Azure/iotedge#7057; azure-docs#86837). */
  readonly layer: boolean;
  /** Stop with exit 0 after this ring has passed its bake (`--until`). */
  readonly untilRing?: number;
}

/**
 * run: start a staged candidate or continue one in flight; resume: also pass a manual gate (or a
 * stop asked by `--until`); abort: roll back now; retry: start a rolled-back or halted candidate again.
 */
export type Command = "run" | "resume" | "abort" | "retry";

export interface Transition {
  readonly status: RolloutStatus;
  /** The candidate's new target condition, when it changes. */
  readonly target?: string;
  /** Make the candidate the stable release and the old stable Superseded. */
  readonly promote?: true;
  /** Delete the candidate (a layer that did not fall back). */
  readonly deleteCandidate?: true;
  readonly exit?: ExitCode;
  /** One line for people, when something happened. */
  readonly event?: string;
  /** The ring's numbers this poll, for tables. */
  readonly tally?: RingTally;
}

/** States a run stops in for good; a new rollout needs a new release or `--retry`. */
export const FINAL_STATES: readonly RolloutState[] = ["Complete", "RolledBack", "RollbackFailed", "Halted"];
/** The value a rolled-back or staged candidate's target condition holds: it targets nothing. */
export const TARGETS_NOTHING = "";

const exitFor: Partial<Record<RolloutState, ExitCode>> = {
  Complete: EXIT.done,
  RolledBack: EXIT.rolledBack,
  RollbackFailed: EXIT.rollbackFailed,
  Halted: EXIT.halted,
};

/** The ring's numbers: as the store counted them (IoT Hub queries), else each report classified against `judged`. */
export function ringTally(obs: Observation, judged: string, gates: Gates): RingTally {
  return (
    obs.tally ??
    tally(
      obs.expected,
      obs.reports.map((r) => classifyDevice(r, judged, gates, obs.now)),
    )
  );
}

function elapsedMs(status: RolloutStatus, now: Date): number {
  return now.getTime() - Date.parse(status.since);
}

export function step(ctx: RolloutContext, current: RolloutStatus, obs: Observation, command: Command): Transition {
  const { plan } = ctx;
  const now = obs.now.toISOString();
  const conditions = ringConditions(ctx.trackTarget, plan.rings);
  const ringName = (i: number) => plan.rings[i]?.name ?? `#${i}`;
  const to = (state: RolloutState, ring: number, extra: Partial<Transition> & { reason?: string } = {}): Transition => {
    const { reason, ...rest } = extra;
    return { status: { state, ring, since: now, ...(reason !== undefined ? { reason } : {}) }, ...rest };
  };
  const abort = (reason: string, t?: RingTally, detail = ""): Transition =>
    plan.onFailure === "halt" && reason !== "AbortRequested"
      ? to("Halted", current.ring, {
          reason,
          exit: EXIT.halted,
          event: `ring ${ringName(current.ring)}: halted (${reason}${detail})`,
          ...(t ? { tally: t } : {}),
        })
      : to("Aborting", current.ring, {
          reason,
          target: TARGETS_NOTHING,
          event: `ring ${ringName(current.ring)}: aborting (${reason}${detail}); devices fall back to ${ctx.stable}`,
          ...(t ? { tally: t } : {}),
        });
  const startRing = (ring: number): Transition =>
    to("Applying", ring, {
      target: conditions[ring]!,
      event: `ring ${ringName(ring)}: targeting ${conditions[ring]!}`,
    });

  if (command === "retry" && current.state !== "Complete" && FINAL_STATES.includes(current.state)) {
    return { ...startRing(0), event: `retrying after ${current.state}: ${startRing(0).event ?? ""}` };
  }
  if (FINAL_STATES.includes(current.state)) {
    return {
      status: current,
      exit: exitFor[current.state]!,
      event: `rollout already ${current.state}${current.reason ? ` (${current.reason})` : ""}`,
    };
  }
  if (command === "abort" && current.state !== "Aborting") return abort("AbortRequested");

  switch (current.state) {
    case "Staged":
      return startRing(0);
    case "Paused":
      if (command !== "resume")
        return {
          status: current,
          exit: EXIT.paused,
          event: `paused after ring ${ringName(current.ring)}; run with --resume to continue`,
        };
      return current.ring + 1 < plan.rings.length
        ? startRing(current.ring + 1)
        : to("Complete", current.ring, { promote: true, exit: EXIT.done, event: "complete" });
    case "Applying": {
      if (obs.applied >= obs.expected) {
        return to("Verifying", current.ring, {
          event: `ring ${ringName(current.ring)}: applied on ${obs.applied} of ${obs.expected} devices`,
        });
      }
      if (elapsedMs(current, obs.now) > plan.gates.applyTimeoutMs) {
        return to("Halted", current.ring, {
          reason: "HubNotApplying",
          exit: EXIT.halted,
          event: `ring ${ringName(current.ring)}: IoT Hub applied the release on ${obs.applied} of ${obs.expected} devices within the apply timeout`,
        });
      }
      return { status: current };
    }
    case "Verifying":
    case "Baking": {
      const t = ringTally(obs, ctx.candidate, plan.gates);
      const ring = plan.rings[current.ring]!;
      const maxFailures = ring.maxFailures ?? (current.ring === 0 ? 0 : undefined);
      const v = verdict(t, plan.gates, maxFailures);
      if (v === "abort") {
        const when = current.state === "Baking" ? "during bake" : "verifying";
        return abort("Failures", t, `: ${t.failed} failed of ${t.succeeded + t.failed} reported, ${when}`);
      }
      if (current.state === "Verifying") {
        if (v === "pass")
          return to("Baking", current.ring, {
            tally: t,
            event: `ring ${ringName(current.ring)}: ${t.succeeded} succeeded; baking ${Math.round(ring.bakeMs / 1000)} s`,
          });
        if (v === "tooManyUnreachable")
          return to("Halted", current.ring, {
            reason: "TooManyUnreachable",
            exit: EXIT.halted,
            tally: t,
            event: `ring ${ringName(current.ring)}: ${t.unreachable} of ${t.expected} devices unreachable`,
          });
        if (elapsedMs(current, obs.now) > plan.gates.reportTimeoutMs) return abort("ReportTimeout", t);
        return { status: current, tally: t };
      }
      if (elapsedMs(current, obs.now) < ring.bakeMs) return { status: current, tally: t };
      if (current.ring + 1 >= plan.rings.length)
        return to("Complete", current.ring, {
          promote: true,
          exit: EXIT.done,
          tally: t,
          event: `ring ${ringName(current.ring)}: baked; rollout complete`,
        });
      if (ctx.untilRing !== undefined && current.ring >= ctx.untilRing) {
        return to("Paused", current.ring, {
          reason: "Until",
          exit: EXIT.done,
          tally: t,
          event: `ring ${ringName(current.ring)}: baked; stopping as asked (--until)`,
        });
      }
      if (ring.gate === "manual") {
        return to("Paused", current.ring, {
          reason: "ManualGate",
          exit: EXIT.paused,
          tally: t,
          event: `ring ${ringName(current.ring)}: baked; waiting for approval (--resume)`,
        });
      }
      return { ...startRing(current.ring + 1), tally: t };
    }
    case "Aborting": {
      const t = ringTally(obs, ctx.stable, plan.gates);
      const reachable = t.expected - t.unreachable;
      if (t.succeeded >= reachable) {
        return to("RolledBack", current.ring, {
          reason: current.reason ?? "Aborted",
          exit: EXIT.rolledBack,
          tally: t,
          event: `rolled back: ${t.succeeded} devices run ${ctx.stable} again`,
        });
      }
      const waited = elapsedMs(current, obs.now);
      if (waited > plan.gates.applyTimeoutMs + plan.gates.reportTimeoutMs) {
        return to("RollbackFailed", current.ring, {
          reason: current.reason ?? "Aborted",
          exit: EXIT.rollbackFailed,
          tally: t,
          event: `rollback not verified: ${t.succeeded} of ${reachable} reachable devices back on ${ctx.stable}`,
        });
      }
      if (ctx.layer && waited > plan.gates.applyTimeoutMs && current.candidateDeleted !== true) {
        return {
          status: { ...current, candidateDeleted: true },
          deleteCandidate: true,
          tally: t,
          event:
            "the layer did not fall back when un-targeted; deleting it (IoT Hub re-applies base + remaining layers)",
        };
      }
      return { status: current, tally: t };
    }
  }
  return { status: current };
}
