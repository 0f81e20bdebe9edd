import type { Configuration, Registry } from "azure-iothub";
import { canonicalJson } from "@edgek8s/agent";
import {
  type LiveRelease,
  type NewRelease,
  type ReleaseChange,
  type ReleaseSummary,
  type TrackSpec,
  foreignProblem,
  isOwn,
  planTrack,
} from "./edgeTrackPlan.ts";
import type { HubResourceOps } from "./hubProvider.ts";
import { type RetryOptions, statusOf, systemClock, withHubRetry } from "./hubRetry.ts";

/**
 * The work behind the `EdgeTrack` dynamic resource: a track's releases as IoT Hub configurations,
 * through the `azure-iothub` service SDK (no Pulumi or Terraform resource exists for IoT Hub
 * deployments). `edgeTrackPlan.ts` decides; this carries the plan out. IoT Hub facts honoured:
 * - configurations are written with a registryReadWrite key (RegistryRead + RegistryWrite);
 * - create is `addConfiguration` (a PUT without If-Match, 409 when the id exists), update is
 *   get → modify → `updateConfiguration` with the etag just read, which the SDK sends quoted — the
 *   only form IoT Hub takes ([3p] H15) — and always with the content, which the hub requires; on 412
 *   (the rollout wrote meanwhile) it reads again, so a field the rollout owns is never overwritten;
 * - content is never changed in place: a PUT with new content is answered 200 and ignored;
 * - every call is retried on 429/503 within a time budget (hubRetry.ts); delete of what is gone (404)
 *   is success.
 */
export interface EdgeTrackInputs extends TrackSpec {
  /** A registryReadWrite connection string; a secret. */
  readonly hubConnectionString: string;
  readonly hubHostName: string;
  /** How long one `up` may wait on IoT Hub's throttles per call. */
  readonly retryBudgetSeconds: number;
}

export interface EdgeTrackOutputs extends EdgeTrackInputs {
  /** The release that holds the track's current content. */
  readonly releaseId: string;
  readonly stableId: string;
  readonly candidateId: string;
  readonly releases: readonly ReleaseSummary[];
}

export interface TrackClient {
  readonly registry: Registry;
  readonly retry: RetryOptions;
}

function describe(error: unknown, action: string): Error {
  const status = statusOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  return new Error(`IoT Hub refused to ${action}${status ? ` (${String(status)})` : ""}: ${detail}`, { cause: error });
}

function call<T>(client: TrackClient, action: string, work: () => Promise<T>): Promise<T> {
  return withHubRetry(action, work, client.retry).catch((error: unknown) => {
    throw describe(error, action);
  });
}

function liveOf(c: Configuration): LiveRelease {
  return {
    id: c.id,
    labels: c.labels ?? {},
    targetCondition: c.targetCondition ?? "",
    priority: c.priority ?? 0,
    metrics: c.metrics?.queries ?? {},
  };
}

async function listReleases(client: TrackClient): Promise<Configuration[]> {
  const { responseBody } = await call(client, "list configurations", () => client.registry.getConfigurations());
  return responseBody;
}

async function createRelease(client: TrackClient, spec: TrackSpec, release: NewRelease): Promise<void> {
  const body: Configuration = {
    id: release.id,
    schemaVersion: "1.0",
    labels: release.labels,
    content: { modulesContent: release.modulesContent },
    targetCondition: release.targetCondition,
    priority: release.priority,
    metrics: { queries: release.metrics },
  };
  try {
    await call(client, `create release ${release.id}`, () => client.registry.addConfiguration(body));
  } catch (error) {
    if (statusOf((error as Error).cause) !== 409) throw error;
    // Made meanwhile, or by a run that failed before it recorded it: adopted only if it is ours.
    const { responseBody } = await call(client, `read release ${release.id}`, () =>
      client.registry.getConfiguration(release.id),
    );
    const problem = foreignProblem(spec, [liveOf(responseBody)]);
    if (problem) throw new Error(problem, { cause: error });
  }
}

const MAX_CONFLICTS = 4;

async function changeRelease(client: TrackClient, change: ReleaseChange): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const { responseBody: current } = await call(client, `read release ${change.id}`, () =>
      client.registry.getConfiguration(change.id),
    );
    const next: Configuration = {
      ...current,
      ...(change.targetCondition !== undefined ? { targetCondition: change.targetCondition } : {}),
      ...(change.priority !== undefined ? { priority: change.priority } : {}),
      ...(change.metrics !== undefined ? { metrics: { queries: change.metrics } } : {}),
      labels: { ...current.labels, ...change.labels },
    };
    try {
      await call(client, `update release ${change.id}`, () => client.registry.updateConfiguration(next));
      return;
    } catch (error) {
      if (statusOf((error as Error).cause) !== 412 || attempt >= MAX_CONFLICTS) throw error;
    }
  }
}

async function deleteRelease(client: TrackClient, id: string): Promise<void> {
  try {
    await call(client, `delete release ${id}`, () => client.registry.removeConfiguration(id));
  } catch (error) {
    if (statusOf((error as Error).cause) !== 404) throw error;
  }
}

const specOf = (inputs: EdgeTrackInputs): TrackSpec => inputs;

/** Brings the track's releases on the hub to what the inputs want; create and update alike. */
export async function applyTrack(client: TrackClient, inputs: EdgeTrackInputs): Promise<EdgeTrackOutputs> {
  const spec = specOf(inputs);
  const live = (await listReleases(client)).map(liveOf);
  const foreign = foreignProblem(spec, live);
  if (foreign) throw new Error(foreign);
  const plan = planTrack(spec, live);
  if (plan.create) await createRelease(client, spec, plan.create);
  for (const change of plan.changes) await changeRelease(client, change);
  for (const id of plan.deletes) await deleteRelease(client, id);
  return {
    ...inputs,
    releaseId: plan.releaseId,
    stableId: plan.stableId,
    candidateId: plan.candidateId,
    releases: plan.releases,
  };
}

/** Deletes every configuration whose labels name this stack and track, and nothing else. */
export async function deleteTrack(client: TrackClient, props: Pick<TrackSpec, "stackId" | "track">): Promise<void> {
  const own = (await listReleases(client)).filter((c) => isOwn(liveOf(c), props));
  for (const c of own) await deleteRelease(client, c.id);
}

/** Replace when the track would be another stack's or another hub's; everything else updates in place. */
export function diffEdgeTrack(
  olds: EdgeTrackOutputs,
  news: EdgeTrackInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const replaces = (["hubHostName", "stackId", "track"] as const).filter((k) => olds[k] !== news[k]);
  const plain = (i: EdgeTrackInputs) =>
    canonicalJson({
      connection: i.hubConnectionString,
      layer: i.layer,
      trackIndex: i.trackIndex,
      target: i.target,
      stagedTarget: i.stagedTarget,
      modulesContent: i.modulesContent,
      metrics: i.metrics,
      retain: i.retain,
      budget: i.retryBudgetSeconds,
    });
  return { changes: replaces.length > 0 || plain(olds) !== plain(news), replaces, deleteBeforeReplace: false };
}

const clientOf = (registry: Registry, inputs: Pick<EdgeTrackInputs, "retryBudgetSeconds">): TrackClient => ({
  registry,
  retry: { budgetMs: inputs.retryBudgetSeconds * 1000, clock: systemClock },
});

/** What the `EdgeTrack` provider runs (hubProvider.ts). */
export const resourceOps: HubResourceOps<EdgeTrackInputs, EdgeTrackOutputs> = {
  diff: diffEdgeTrack,
  async create(connect, inputs) {
    const outs = await applyTrack(clientOf(connect(inputs.hubConnectionString), inputs), inputs);
    return { id: `${inputs.stackId}/${inputs.track}`, outs };
  },
  update: (connect, _id, _olds, news) => applyTrack(clientOf(connect(news.hubConnectionString), news), news),
  delete: (connect, _id, props) => deleteTrack(clientOf(connect(props.hubConnectionString), props), props),
};
