import {
  type ModulesContent,
  ROLLOUT_LABEL,
  STATIC_LABEL,
  canonicalJson,
  contentHash12,
  recordedState,
  releaseId,
  releasePriority,
} from "@edgek8s/agent";

/**
 * What one `pulumi up` must do to a track's releases on IoT Hub (ROLLOUT.md §B3), as a pure plan over
 * what the hub holds now. The rules it enforces:
 * - a release is one configuration whose id carries the hash of its content, because IoT Hub never
 *   changes a configuration's content ("Configuration identifier and Content cannot be updated"; a PUT
 *   with changed content is answered 200 and ignored, [3p] H15): new content is a new release;
 * - the first release is the stable one and targets the whole track; every later one is created at
 *   the next priority of the track's band, targeting nothing, and waits for the rollout; earlier
 *   releases are kept as the fallback the docs require ("an additional deployment … targeted to the
 *   same device at a lower priority");
 * - one owner per field (§B1): Pulumi writes content, priority, metrics and the static labels, and the
 *   stable release's target; the candidate's target and the rollout labels (`edgek8s.state/ring/since/
 *   reason`) belong to the rollout, so a rolled-back candidate is never re-targeted by a later `up`;
 * - releases the rollout marked Superseded are deleted beyond `retain`, newest kept; a RolledBack one
 *   is deleted once other content is wanted (it targets nothing, and the same content would come back
 *   as that same, still rolled-back, release);
 * - only configurations whose labels name this stack and track are this track's: anything else with
 *   a release's id is refused, never adopted, and `destroy` deletes exactly the track's own.
 */
export interface TrackSpec {
  readonly stackId: string;
  readonly track: string;
  readonly layer: boolean;
  /** The track's band (agent `trackIndexes`). */
  readonly trackIndex: number;
  readonly target: string;
  /** What a staged release targets: "" or, where the hub refuses an empty condition, a device that never exists. */
  readonly stagedTarget: string;
  readonly modulesContent: ModulesContent;
  /** The user's custom metrics; edgek8s adds its two. */
  readonly metrics: Readonly<Record<string, string>>;
  readonly retain: number;
}

/** A configuration as the hub lists it, reduced to what the plan reads. */
export interface LiveRelease {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly targetCondition: string;
  readonly priority: number;
  readonly metrics: Readonly<Record<string, string>>;
}

export interface NewRelease {
  readonly id: string;
  readonly labels: Record<string, string>;
  readonly targetCondition: string;
  readonly priority: number;
  readonly metrics: Record<string, string>;
  readonly modulesContent: ModulesContent;
}

/** The fields an update sets on a release, read and written again with its etag; the rest is kept. */
export interface ReleaseChange {
  readonly id: string;
  readonly targetCondition?: string;
  readonly priority?: number;
  readonly metrics?: Record<string, string>;
  /** Static labels to set; rollout labels are never in here. */
  readonly labels?: Record<string, string>;
}

export interface ReleaseSummary {
  readonly id: string;
  readonly seq: number;
  readonly hash: string;
  readonly priority: number;
  readonly state: string;
}

export interface TrackPlan {
  readonly create?: NewRelease;
  readonly changes: readonly ReleaseChange[];
  readonly deletes: readonly string[];
  /** The release that holds the wanted content. */
  readonly releaseId: string;
  readonly stableId: string;
  /** The newest release still being rolled out (not Stable, Superseded or RolledBack), or "". */
  readonly candidateId: string;
  /** The track's releases once the plan is carried out, oldest first. */
  readonly releases: readonly ReleaseSummary[];
}

/** edgek8s's two custom metrics (§B3), the portal's mirror of the rollout gates, for one release. */
export function edgek8sMetrics(id: string): Record<string, string> {
  const applied =
    `SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent' AND configurations.[[${id}]].status = 'Applied'` +
    ` AND properties.desired.$version = properties.reported.lastDesiredVersion`;
  return {
    ek8sHealthy:
      `${applied} AND properties.reported.lastDesiredStatus.code = 200` +
      ` AND properties.reported.edgek8s.readyVersion = properties.desired.$version AND properties.reported.edgek8s.ready = true`,
    ek8sFailed: `${applied} AND properties.reported.lastDesiredStatus.code NIN [200, 406]`,
  };
}

export function isOwn(release: Pick<LiveRelease, "labels">, spec: Pick<TrackSpec, "stackId" | "track">): boolean {
  return release.labels[STATIC_LABEL.stack] === spec.stackId && release.labels[STATIC_LABEL.track] === spec.track;
}

const seqOf = (r: LiveRelease) => Number.parseInt(r.labels[STATIC_LABEL.seq] ?? "", 10) || 0;
/**
 * The state a release's labels record, read as the rollout reads it (agent `recordedState`): one
 * without the label is Stable when it targets devices, Staged when it targets nothing. Pulumi labels
 * every configuration it creates on IoT Hub; EdgeReleases in a local cluster carry no state until the
 * rollout writes one (localReleases.ts). A state the agent does not know is kept as written, not refused.
 */
const stateOf = (r: LiveRelease) => recordedState(r.labels, r.targetCondition);

function staticLabels(spec: TrackSpec, hash: string, seq: number): Record<string, string> {
  return {
    [STATIC_LABEL.managed]: "true",
    [STATIC_LABEL.stack]: spec.stackId,
    [STATIC_LABEL.track]: spec.track,
    [STATIC_LABEL.hash]: hash,
    [STATIC_LABEL.seq]: String(seq),
  };
}

const metricsFor = (spec: TrackSpec, id: string) => ({ ...spec.metrics, ...edgek8sMetrics(id) });

/**
 * Refuses a configuration that has a release's id but is not this track's. `where` names what holds
 * the releases and what they are there (a local stack's EdgeReleases in a cluster).
 */
export function foreignProblem(
  spec: TrackSpec,
  live: readonly LiveRelease[],
  where: { readonly kind: string; readonly place: string } = { kind: "configuration", place: "the hub" },
): string | undefined {
  const id = releaseId(spec.track, spec.modulesContent);
  const clash = live.find((r) => r.id === id && !isOwn(r, spec));
  if (!clash) return undefined;
  return (
    `${where.kind} ${id} already exists in ${where.place} and is not this track's ` +
    `(labels ${STATIC_LABEL.stack}=${clash.labels[STATIC_LABEL.stack] ?? "none"}, ${STATIC_LABEL.track}=${clash.labels[STATIC_LABEL.track] ?? "none"}; ` +
    `this is ${spec.stackId}/${spec.track}); edgek8s adopts only its own releases — delete it or rename the track`
  );
}

export function planTrack(spec: TrackSpec, live: readonly LiveRelease[]): TrackPlan {
  const own = live.filter((r) => isOwn(r, spec)).sort((a, b) => seqOf(a) - seqOf(b));
  const hash = contentHash12(spec.modulesContent);
  const id = releaseId(spec.track, spec.modulesContent);
  const existing = own.find((r) => r.id === id);
  const stable = own.filter((r) => stateOf(r) === "Stable").at(-1);
  let create: NewRelease | undefined;
  if (!existing) {
    const first = own.length === 0;
    const seq = first ? 1 : Math.max(...own.map(seqOf)) + 1;
    create = {
      id,
      labels: { ...staticLabels(spec, hash, seq), [ROLLOUT_LABEL.state]: first ? "Stable" : "Staged" },
      targetCondition: first ? spec.target : spec.stagedTarget,
      priority: releasePriority(spec.layer, spec.trackIndex, seq - 1),
      metrics: metricsFor(spec, id),
      modulesContent: spec.modulesContent,
    };
  }

  const superseded = own.filter((r) => stateOf(r) === "Superseded").reverse();
  const deletes = new Set([
    ...superseded.slice(spec.retain).map((r) => r.id),
    ...own.filter((r) => stateOf(r) === "RolledBack" && r.id !== id).map((r) => r.id),
  ]);

  const changes: ReleaseChange[] = [];
  for (const r of own) {
    if (deletes.has(r.id)) continue;
    const seq = seqOf(r);
    const priority = releasePriority(spec.layer, spec.trackIndex, seq - 1);
    const isStable = r === stable;
    const wantedLabels = staticLabels(spec, r.labels[STATIC_LABEL.hash] ?? hash, seq);
    const labelsDiffer = Object.entries(wantedLabels).some(([k, v]) => r.labels[k] !== v);
    const metrics = metricsFor(spec, r.id);
    const change: ReleaseChange = {
      id: r.id,
      ...(r.priority !== priority ? { priority } : {}),
      ...(isStable && r.targetCondition !== spec.target ? { targetCondition: spec.target } : {}),
      ...(isStable && canonicalJson(r.metrics) !== canonicalJson(metrics) ? { metrics } : {}),
      ...(isStable && labelsDiffer ? { labels: wantedLabels } : {}),
    };
    if (Object.keys(change).length > 1) changes.push(change);
  }

  const kept: ReleaseSummary[] = own
    .filter((r) => !deletes.has(r.id))
    .map((r) => ({
      id: r.id,
      seq: seqOf(r),
      hash: r.labels[STATIC_LABEL.hash] ?? "",
      priority: releasePriority(spec.layer, spec.trackIndex, seqOf(r) - 1),
      state: stateOf(r),
    }));
  if (create) {
    kept.push({
      id: create.id,
      seq: Number(create.labels[STATIC_LABEL.seq]),
      hash,
      priority: create.priority,
      state: create.labels[ROLLOUT_LABEL.state] ?? "",
    });
  }
  const stableId = stable?.id ?? (create?.labels[ROLLOUT_LABEL.state] === "Stable" ? create.id : "");
  const candidate = kept.filter((r) => !["Stable", "Superseded", "RolledBack"].includes(r.state)).at(-1);
  return {
    ...(create ? { create } : {}),
    changes,
    deletes: [...deletes],
    releaseId: id,
    stableId,
    candidateId: candidate?.id ?? "",
    releases: kept,
  };
}
