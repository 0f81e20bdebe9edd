import type { Lease, ReleaseState } from "./labels.ts";
import type { Gates } from "./plan.ts";
import type { ReleaseRecord } from "./releases.ts";
import type { Observation } from "./stateMachine.ts";

/**
 * Where a track's releases live, and how the driver reads devices: IoT Hub (configurations, twin
 * queries, `$edgeAgent` module twins) or a local stack (EdgeReleases, EdgeDeployments). The driver
 * never writes what Pulumi owns — content, priority, static labels — only the candidate's target
 * condition, the rollout labels and its lease (ROLLOUT.md §B1).
 */
export interface ReleaseStore {
  /** Where the releases live, for messages ("IoT Hub my-hub.azure-devices.net", "cluster local"). */
  readonly where: string;
  list(): Promise<ReleaseRecord[]>;
  /** One read; undefined when the release is gone. */
  read(id: string): Promise<ReleaseRecord | undefined>;
  /**
   * One write guarded by `record.version` (IoT Hub `If-Match` with the quoted etag; the object's
   * resourceVersion): throws `LostRace` when another writer changed the release since it was read.
   */
  write(record: ReleaseRecord, change: RolloutWrite): Promise<ReleaseRecord>;
  /** Deletes a release (a layer that does not fall back when un-targeted); gone already is fine. */
  remove(id: string): Promise<void>;
  observe(request: ObserveRequest): Promise<Observation>;
  /** Devices a condition selects now (for `--dry-run`). */
  count(condition: string): Promise<number>;
  /** Problems with the ring conditions and the hub's budget, before anything is written. */
  preflight(conditions: readonly string[]): Promise<string[]>;
  /** What the store asked of the service, for the summary (queries, twin reads, throttling). */
  usage(): readonly string[];
  close(): void;
}

export interface RolloutWrite {
  /** The candidate's new target condition, when it moves. */
  readonly targetCondition?: string;
  readonly state: ReleaseState;
  /** The ring's name. */
  readonly ring?: string;
  readonly since: string;
  readonly reason?: string;
  /** Renews the driver's lease; undefined releases it (the run ends). */
  readonly lease: Lease | undefined;
}

export interface ObserveRequest {
  readonly now: Date;
  /** The devices looked at: the candidate's ring condition, or what it had before a rollback. */
  readonly condition: string;
  /**
   * The whole track's target: a rollback counted by queries (not twin by twin) must find every
   * reachable device of the track healthy on the stable release, as the counts cannot be limited to
   * the ring's devices (queries over `devices.modules` cannot read device tags).
   */
  readonly trackCondition: string;
  /** The release devices are judged against: the candidate, or the stable release during a rollback. */
  readonly judged: string;
  /** The candidate, whose Applied count is `applied`. */
  readonly candidate: string;
  /** Device reports are needed (Verifying, Baking, Aborting), not only the counts (Applying). */
  readonly reports: boolean;
  readonly gates: Gates;
}

/** Another driver (or a person) changed the release since this driver read it: IoT Hub 412, Kubernetes 409. */
export class LostRace extends Error {
  override readonly name = "LostRace";
}

/** The store cannot do what is asked (no such track, an unreachable service): preflight fails. */
export class StoreError extends Error {
  override readonly name = "StoreError";
}
