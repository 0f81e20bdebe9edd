import { labelProblem } from "../releases/naming.ts";
import type { RolloutState, RolloutStatus } from "./stateMachine.ts";

/**
 * The rollout's durable state, kept on the release itself (ROLLOUT.md §B1 "each field has one owner",
 * §B3 labels): Pulumi writes the static labels, the rollout writes only these. IoT Hub labels allow
 * 1–128 characters of ASCII letters, digits and `- : . + % _ # * ? ! ( ) , = @ ; '`
 * (Azure/azure-iot-hub-node `src/configuration.ts`), so reasons are codes and times ISO 8601.
 */
export const ROLLOUT_LABEL = {
  state: "edgek8s.state",
  ring: "edgek8s.ring",
  since: "edgek8s.since",
  reason: "edgek8s.reason",
} as const;

/** The driver holding the rollout, and when it last renewed that (a lease, so a second driver stays out). */
export const LEASE_LABEL = {
  holder: "edgek8s.driver",
  renewed: "edgek8s.renewed",
} as const;

/** Labels Pulumi writes on every release (read here, never written). */
export const STATIC_LABEL = {
  managed: "edgek8s.managed",
  stack: "edgek8s.stack",
  track: "edgek8s.track",
  hash: "edgek8s.hash",
  seq: "edgek8s.seq",
} as const;

/** A release's state: a rollout state, or one of the two a release has once its rollout is over. */
export type ReleaseState = RolloutState | "Stable" | "Superseded";

const STATES: readonly ReleaseState[] = [
  "Staged",
  "Applying",
  "Verifying",
  "Baking",
  "Paused",
  "Complete",
  "Aborting",
  "RolledBack",
  "RollbackFailed",
  "Halted",
  "Stable",
  "Superseded",
];

export type Labels = Readonly<Record<string, string>>;

export class LabelError extends Error {}

/**
 * The state a release's labels record. A release without one is what Pulumi made: one that targets
 * devices is the track's stable release (release #1), one that targets nothing is staged.
 */
export function releaseState(labels: Labels, targetCondition: string): ReleaseState {
  const state = recordedState(labels, targetCondition);
  if (!(STATES as readonly string[]).includes(state))
    throw new LabelError(`label ${ROLLOUT_LABEL.state}="${state}" is not a state edgek8s knows`);
  return state as ReleaseState;
}

/**
 * `releaseState` for readers that only show or compare the state (the Pulumi planner, `edgek8s local`):
 * the same rule, but a label edgek8s does not know is returned as written instead of refused.
 */
export function recordedState(labels: Labels, targetCondition: string): string {
  return labels[ROLLOUT_LABEL.state] ?? (targetCondition.trim() === "" ? "Staged" : "Stable");
}

/** Whether a label is one of the rollout's own (ROLLOUT_LABEL), which Pulumi never writes after creation. */
export function isRolloutLabel(key: string): boolean {
  return (Object.values(ROLLOUT_LABEL) as string[]).includes(key);
}

/** The rollout status the candidate's labels hold; `ringNames` maps the ring label to its index. */
export function statusFromLabels(
  labels: Labels,
  targetCondition: string,
  ringNames: readonly string[],
  fallbackSince: string,
): RolloutStatus {
  const state = releaseState(labels, targetCondition);
  if (state === "Stable" || state === "Superseded") throw new LabelError(`the release is ${state}, not a candidate`);
  const ringLabel = labels[ROLLOUT_LABEL.ring];
  const ring = ringLabel === undefined ? 0 : ringNames.indexOf(ringLabel);
  if (ring < 0)
    throw new LabelError(
      `label ${ROLLOUT_LABEL.ring}="${ringLabel ?? ""}" names no ring of the plan (${ringNames.join(", ")}); the plan changed during the rollout`,
    );
  const since = labels[ROLLOUT_LABEL.since];
  const reason = labels[ROLLOUT_LABEL.reason];
  return {
    state,
    ring,
    since: since !== undefined && !Number.isNaN(Date.parse(since)) ? since : fallbackSince,
    ...(reason !== undefined ? { reason } : {}),
  };
}

/** A reason as a label value: letters, digits and the allowed punctuation only, at most 128 characters. */
export function reasonCode(reason: string): string {
  const code = reason.replace(/[^A-Za-z0-9\-:.+%_#*?!(),=@;']+/g, "-").slice(0, 128);
  return code === "" ? "-" : code;
}

/**
 * The labels after a state change: everything Pulumi wrote kept as it is, the rollout's own labels
 * replaced. `ring` is written as the ring's name, which people read in the portal and `kubectl get`.
 */
export function labelsWithStatus(
  labels: Labels,
  state: ReleaseState,
  ring: string | undefined,
  since: string,
  reason: string | undefined,
): Record<string, string> {
  const kept = Object.fromEntries(Object.entries(labels).filter(([key]) => !isRolloutLabel(key)));
  const next: Record<string, string> = {
    ...kept,
    [ROLLOUT_LABEL.state]: state,
    ...(ring !== undefined ? { [ROLLOUT_LABEL.ring]: ring } : {}),
    [ROLLOUT_LABEL.since]: since,
    ...(reason !== undefined ? { [ROLLOUT_LABEL.reason]: reasonCode(reason) } : {}),
  };
  for (const [key, value] of Object.entries(next)) {
    const problem = labelProblem(key) ?? labelProblem(value);
    if (problem !== undefined) throw new LabelError(`label ${key}="${value}": ${problem}`);
  }
  return next;
}

export interface Lease {
  readonly holder: string;
  readonly renewed: string;
}

export function leaseOf(labels: Labels): Lease | undefined {
  const holder = labels[LEASE_LABEL.holder];
  const renewed = labels[LEASE_LABEL.renewed];
  return holder !== undefined && renewed !== undefined ? { holder, renewed } : undefined;
}

/** Whether another driver holds the lease now (renewed within `leaseMs`). */
export function heldByOther(lease: Lease | undefined, self: string, now: Date, leaseMs: number): boolean {
  if (lease === undefined || lease.holder === self) return false;
  const renewed = Date.parse(lease.renewed);
  return !Number.isNaN(renewed) && now.getTime() - renewed < leaseMs;
}

export function leaseLabels(holder: string, now: Date): Record<string, string> {
  return { [LEASE_LABEL.holder]: holder, [LEASE_LABEL.renewed]: now.toISOString() };
}
