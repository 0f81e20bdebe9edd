import { canonicalJson } from "../runtime/canonical.ts";
import { type Labels, type Lease, type ReleaseState, STATIC_LABEL, releaseState } from "./labels.ts";

/**
 * One release as the driver sees it, from IoT Hub (a configuration) or a local stack (an
 * EdgeRelease): what Pulumi made, the rollout's labels, and the version that guards a write (the
 * configuration's etag, the object's resourceVersion).
 */
export interface ReleaseRecord {
  readonly id: string;
  readonly track: string | undefined;
  readonly priority: number;
  readonly targetCondition: string;
  readonly labels: Labels;
  readonly lease: Lease | undefined;
  readonly version: string;
}

export interface TrackReleases {
  /** The release the track falls back to: the newest Stable one (during an undo, the newest Superseded one). */
  readonly stable: ReleaseRecord | undefined;
  /** The release being rolled out, or the last one whose rollout ended short of Stable. */
  readonly candidate: ReleaseRecord | undefined;
  /** The newest Superseded release below the stable one: what `--undo` goes back to. */
  readonly previous: ReleaseRecord | undefined;
  /** Older releases still labelled Stable (a driver stopped between its two promotion writes). */
  readonly staleStable: readonly ReleaseRecord[];
}

const ACTIVE: readonly ReleaseState[] = ["Applying", "Verifying", "Baking", "Paused", "Aborting"];

export function stateOf(record: ReleaseRecord): ReleaseState {
  return releaseState(record.labels, record.targetCondition);
}

/** A rollout in flight: started and neither finished nor given up (a paused one included). */
export function isActive(state: ReleaseState): boolean {
  return ACTIVE.includes(state);
}

/**
 * Sorts a track's releases into stable, candidate and previous. Releases of another track, or whose
 * stack label names another stack, are not this rollout's (ROLLOUT.md §B5: labels prove ownership).
 * A rollout in flight is the candidate even when a newer release is staged above it; otherwise the
 * newest release above the stable one that is not Stable or Superseded is.
 */
export function trackReleases(records: readonly ReleaseRecord[], track: string, stackId?: string): TrackReleases {
  const mine = records
    .filter((r) => r.track === track)
    .filter((r) => stackId === undefined || (r.labels[STATIC_LABEL.stack] ?? stackId) === stackId)
    .sort((a, b) => b.priority - a.priority);
  const stables = mine.filter((r) => stateOf(r) === "Stable");
  const stable = stables[0] ?? mine.find((r) => stateOf(r) === "Superseded");
  const above = mine.filter((r) => stable === undefined || r.priority > stable.priority);
  const open = above.filter((r) => !["Stable", "Superseded"].includes(stateOf(r)));
  const candidate = open.find((r) => isActive(stateOf(r))) ?? open[0];
  const previous = stable && mine.find((r) => r.priority < stable.priority && stateOf(r) === "Superseded");
  return { stable, candidate, previous, staleStable: stables.slice(1) };
}

/** Whether two reads of a release agree on everything a driver writes: target, labels, lease. */
export function sameRolloutFields(a: ReleaseRecord, b: ReleaseRecord): boolean {
  return (
    a.targetCondition === b.targetCondition &&
    canonicalJson(a.labels) === canonicalJson(b.labels) &&
    a.lease?.holder === b.lease?.holder &&
    a.lease?.renewed === b.lease?.renewed
  );
}
