import { type ModulesContent, isRolloutLabel } from "@edgek8s/agent";
import { RESOURCES } from "@edgek8s/agent/kube";
import type { ObjectSpec } from "./namespace.ts";
import { type LiveRelease, type TrackSpec, foreignProblem, planTrack } from "./providers/edgeTrackPlan.ts";

/**
 * Local mode (`hub.mode: none`): a track's releases as EdgeRelease objects, planned by the same pure
 * `planTrack` as the hub's EdgeTrack provider, so both modes agree on which releases exist (new content
 * → a new release at the next priority that targets nothing; earlier ones kept, Superseded beyond
 * `retain` and RolledBack ones dropped). Pulumi declares every kept release; a release it no longer
 * declares is deleted at the end of `up`.
 *
 * One owner per field (ROLLOUT.md §B1), with server-side apply's field managers:
 * - Pulumi (`edgek8s-pulumi`) declares content, track, layer, priority and the static labels;
 * - the rollout (`edgek8s-rollout`, agent/src/rollout/localStore.ts) writes the target condition and
 *   the rollout labels. Pulumi never declares a rollout label, not even `edgek8s.state` at creation:
 *   the Kubernetes provider cannot leave a map key with a dot in it to another manager (its
 *   ignoreChanges handling splits paths on "."), so declaring it once would have `up` write it back.
 *   A release without the label is read as IoT Hub's labels are (agent `releaseState`, and `planTrack`):
 *   Stable when it targets devices, Staged when it targets nothing;
 * - the target condition is declared at creation (the track's target for release #1, "" after); later
 *   as the cluster holds it when the program starts, and left to whoever wrote it last
 *   (`ignoreChanges`, so neither a preview after a rollout step nor a write racing `up` shows up as
 *   Pulumi's change), except on the Stable release when the track's target changed: that one is
 *   Pulumi's to move.
 */
/** An EdgeRelease as the cluster holds it: what the planner reads of a release, and its content. */
export interface LiveEdgeRelease extends LiveRelease {
  readonly modulesContent: ModulesContent;
}

export interface DeclaredRelease {
  /** The release id, also the object's name. */
  readonly id: string;
  readonly object: ObjectSpec;
  /** False: the target condition is left to its last writer (`ignoreChanges: ["spec.targetCondition"]`). */
  readonly setsTarget: boolean;
}

export interface LocalTrackPlan {
  readonly releases: readonly DeclaredRelease[];
  readonly releaseId: string;
  readonly stableId: string;
  readonly candidateId: string;
}

function staticLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([key]) => !isRolloutLabel(key)));
}

function releaseObject(
  spec: TrackSpec,
  id: string,
  fields: { priority: number; targetCondition: string; labels: Record<string, string>; content: ModulesContent },
): ObjectSpec {
  return {
    apiVersion: RESOURCES.EdgeRelease.apiVersion,
    kind: RESOURCES.EdgeRelease.kind,
    metadata: {
      name: id,
      labels: { "app.kubernetes.io/part-of": "edgek8s", "edgek8s.io/track": spec.track },
    },
    spec: {
      track: spec.track,
      layer: spec.layer,
      priority: fields.priority,
      targetCondition: fields.targetCondition,
      modulesContent: fields.content,
      labels: fields.labels,
    },
  };
}

/**
 * The EdgeReleases to declare for one track, given the cluster's EdgeReleases (every track's; this
 * track's are picked by their labels). A problem when an EdgeRelease with this content's id exists
 * and is not this stack's and track's: it is never adopted.
 */
export function planLocalTrack(
  spec: TrackSpec,
  live: readonly LiveEdgeRelease[],
): { ok: true; plan: LocalTrackPlan } | { ok: false; problem: string } {
  const foreign = foreignProblem(spec, live, { kind: RESOURCES.EdgeRelease.kind, place: "the cluster" });
  if (foreign !== undefined) return { ok: false, problem: foreign };
  const plan = planTrack(spec, live);
  const byId = new Map(live.map((r) => [r.id, r]));
  const changes = new Map(plan.changes.map((c) => [c.id, c]));
  const releases: DeclaredRelease[] = [];
  for (const summary of plan.releases) {
    if (plan.create?.id === summary.id) {
      const create = plan.create;
      releases.push({
        id: create.id,
        object: releaseObject(spec, create.id, {
          priority: create.priority,
          targetCondition: create.targetCondition,
          labels: staticLabels(create.labels),
          content: create.modulesContent,
        }),
        setsTarget: true,
      });
      continue;
    }
    const existing = byId.get(summary.id);
    if (existing === undefined) continue;
    const change = changes.get(summary.id);
    const wantedLabels = staticLabels(existing.labels);
    releases.push({
      id: summary.id,
      object: releaseObject(spec, summary.id, {
        priority: summary.priority,
        targetCondition: change?.targetCondition ?? existing.targetCondition,
        labels: change?.labels ? staticLabels(change.labels) : wantedLabels,
        content: existing.modulesContent,
      }),
      setsTarget: change?.targetCondition !== undefined,
    });
  }
  return {
    ok: true,
    plan: { releases, releaseId: plan.releaseId, stableId: plan.stableId, candidateId: plan.candidateId },
  };
}
