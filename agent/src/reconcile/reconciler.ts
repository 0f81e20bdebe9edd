import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import type { ClusterCache, OwnedKind } from "./cache.ts";
import { contentHash } from "./drift.ts";
import { type Plan, planPass } from "./plan.ts";
import { readPodWarnings } from "./podWarnings.ts";
import { objectsToProve, preflight, refusalIssues } from "./preflight.ts";
import { API_VERSION, KIND, type EdgeDeploymentSpec, type EdgeDeploymentStatus } from "../crd/edgeDeployment.ts";
import { withHeartbeat } from "../status/heartbeat.ts";
import { type KubeClient, KubeError } from "../kube/client.ts";
import { NotLeaderError } from "../kube/fence.ts";
import type { KubeObject } from "../kube/objects.ts";
import { resourceFor } from "../kube/resources.ts";
import type { ManifestIssue, ManifestWarning } from "../manifest/issues.ts";
import { parseDesired } from "../manifest/parse.ts";
import { k8sName } from "../naming/k8sName.ts";
import type { Logger } from "../runtime/log.ts";
import { mapLimit } from "../runtime/mapLimit.ts";
import type { Metrics } from "../runtime/metrics.ts";
import { type Outcome, edgeDeploymentStatus } from "../status/deploymentStatus.ts";
import { isStartingUp } from "../status/moduleStatus.ts";
import type { TranslationDefaults } from "../translate/context.ts";
import { LABEL } from "../translate/labels.ts";
import { KIND_ORDER, translate } from "../translate/translate.ts";

export const FIELD_MANAGER = "edgek8s-agent";
// As many requests in flight as the client keeps connections (KubeClient maxSockets): a 20-module change is one round.
const APPLY_CONCURRENCY = 32;

function byConsecutiveKind(objects: readonly KubeObject[]): KubeObject[][] {
  const batches: KubeObject[][] = [];
  for (const object of objects) {
    const last = batches.at(-1);
    if (last && last[0]?.kind === object.kind) last.push(object);
    else batches.push([object]);
  }
  return batches;
}

export interface ReconcileResult {
  readonly applied: number;
  readonly pruned: number;
  /** Check again after this long even without a watch event (startupOrder gating). */
  readonly requeueAfterMs?: number;
}

export interface ReconcilerOptions {
  readonly defaults: TranslationDefaults;
  readonly now?: () => Date;
  /** Identity written into Events (`reportingInstance`), e.g. the pod name. */
  readonly instance?: string;
  /**
   * A local stack's release engine writes the desired versions (`--release-engine`): a desired version
   * then does not mean the hub bridge wrote the spec, so modules get no IoT Hub identity and the
   * `$edgeHub` document is required. Otherwise a desired version means hub mode.
   */
  readonly localReleases?: boolean;
  /**
   * Local stacks: keep `status.heartbeat` at most this old (ms), so the rollout can tell a device whose
   * agent stopped from one still starting (hub mode reports its heartbeat to IoT Hub instead).
   */
  readonly heartbeatMs?: number;
  /** Prove each pass with the API server's dry run before writing (default true; off only to measure its cost). */
  readonly preflight?: boolean;
}

interface EdgeDeploymentObject extends KubeObject {
  spec?: Partial<EdgeDeploymentSpec>;
  status?: EdgeDeploymentStatus;
}

/**
 * One level-triggered pass over an EdgeDeployment: read it and its children from the cache,
 * translate, apply what differs (server-side apply as `edgek8s-agent`), prune what is no longer
 * wanted, write status when it changed. Running it twice in a row writes nothing.
 */
export class Reconciler {
  private readonly client: KubeClient;
  private readonly cache: ClusterCache;
  private readonly options: ReconcilerOptions;
  private readonly log: Logger;
  private readonly metrics: Metrics | undefined;
  private eventSequence = 0;
  /** Per EdgeDeployment, the resourceVersion the last status write replaced. */
  private readonly replacedVersions = new Map<string, string>();

  constructor(client: KubeClient, cache: ClusterCache, options: ReconcilerOptions, log: Logger, metrics?: Metrics) {
    this.client = client;
    this.cache = cache;
    this.options = options;
    this.log = log;
    this.metrics = metrics;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const edgeDeployment: EdgeDeploymentObject | undefined = this.cache.edgeDeployment(key);
    if (!edgeDeployment || edgeDeployment.metadata?.deletionTimestamp) {
      this.replacedVersions.delete(key);
      return { applied: 0, pruned: 0 };
    }
    // The cache has not caught up with this agent's own status write yet: the watch event that
    // brings it enqueues the key again, so a pass now would only read old data (and get a 409).
    const replaced = this.replacedVersions.get(key);
    if (replaced !== undefined && replaced === edgeDeployment.metadata?.resourceVersion)
      return { applied: 0, pruned: 0 };
    this.replacedVersions.delete(key);
    const namespace = edgeDeployment.metadata?.namespace ?? "";
    const name = edgeDeployment.metadata?.name ?? "";
    const spec = edgeDeployment.spec ?? {};
    const log = this.log.with({ namespace, name, device: spec.deviceId });
    const fromHub = spec.desiredVersion !== undefined && this.options.localReleases !== true;
    const parsed = parseDesired(
      {
        edgeAgent: spec.edgeAgent,
        edgeHub: spec.edgeHub,
        edgeAgentPath: ["spec", "edgeAgent"],
        edgeHubPath: ["spec", "edgeHub"],
        edgeHubFromTwin: fromHub,
      },
      { parentHostname: this.options.defaults.parentHostname },
    );
    if (!parsed.ok) return this.refuse(edgeDeployment, parsed.issues, parsed.warnings, log);
    const deviceId = spec.deviceId ?? "";
    const translation = translate(parsed.manifest, {
      deviceId,
      hubHostName: spec.hubHostName ?? "",
      namespace,
      defaults: this.options.defaults,
      owner: { apiVersion: API_VERSION, kind: KIND, name, uid: edgeDeployment.metadata?.uid ?? "" },
      // Written by the hub bridge: modules get their IoT Hub identities from its Secrets.
      moduleIdentities: fromHub,
    });
    const uid = edgeDeployment.metadata?.uid ?? "";
    const plan = planPass(translation, this.liveObjects(namespace, uid), uid);
    if (this.options.preflight !== false) {
      const refusals = await preflight(
        this.client,
        objectsToProve(plan, translation),
        FIELD_MANAGER,
        APPLY_CONCURRENCY,
      );
      if (refusals.length > 0) {
        const modulePaths = new Map(parsed.manifest.modules.map((m) => [m.k8sName, m.path]));
        return this.refuse(
          edgeDeployment,
          refusalIssues(refusals, modulePaths),
          [...parsed.warnings, ...translation.warnings],
          log,
        );
      }
    }
    const conflict =
      plan.conflicts.length > 0 ? `name conflict (one device per namespace): ${plan.conflicts.join("; ")}` : undefined;
    const applyError = (await this.execute(plan, edgeDeployment, log)) ?? conflict;
    const versions = new Map(parsed.manifest.modules.map((m) => [m.id, m.version]));
    const pods = this.podsByModule(namespace, k8sName(deviceId));
    // Pods kubelet is still preparing: their Warning events say why (FailedMount …); look again soon.
    const starting = [...pods.values()].flat().filter(isStartingUp);
    const podWarnings = await readPodWarnings(this.client, namespace, starting, log);
    const deployments = new Map(
      this.cache.ownedIn("Deployment", namespace).map((d) => [d.metadata?.name ?? "", d as V1Deployment]),
    );
    await this.writeStatus(edgeDeployment, {
      kind: "applied",
      modules: translation.modules.map((m) => ({ ...m, version: versions.get(m.id) })),
      warnings: [...parsed.warnings, ...translation.warnings],
      deployments,
      expectedHashes: plan.deploymentHashes,
      pods,
      podWarnings,
      waitingFor: plan.waitingFor,
      applyError,
    });
    if (applyError !== undefined) throw new Error(applyError);
    return {
      applied: plan.apply.length,
      pruned: plan.prune.length,
      ...(plan.waitingFor.length > 0 || starting.length > 0 ? { requeueAfterMs: 5000 } : {}),
    };
  }

  /** A manifest that cannot be applied: Degraded with its problems, code 400 (or 412/417), nothing written. */
  private async refuse(
    edgeDeployment: EdgeDeploymentObject,
    issues: readonly ManifestIssue[],
    warnings: readonly ManifestWarning[],
    log: Logger,
  ): Promise<ReconcileResult> {
    const changed = await this.writeStatus(edgeDeployment, { kind: "invalid", issues, warnings });
    if (changed) {
      log.warn("invalid manifest; keeping the objects of the last valid one", { problems: issues.length });
      await this.event(
        edgeDeployment,
        "Warning",
        "InvalidManifest",
        issues.map((i) => `${i.path}: ${i.message}`).join("; "),
      );
    }
    return { applied: 0, pruned: 0 };
  }

  private liveObjects(namespace: string, ownerUid: string) {
    const owned = KIND_ORDER.flatMap((kind) => this.cache.ownedIn(kind, namespace)).filter((o) =>
      o.metadata?.ownerReferences?.some((r) => r.uid === ownerUid),
    );
    return {
      owned,
      get: (kind: string, name: string) => this.cache.get(kind as OwnedKind, namespace, name),
    };
  }

  private podsByModule(namespace: string, device: string): Map<string, V1Pod[]> {
    const byModule = new Map<string, V1Pod[]>();
    for (const pod of this.cache.ownedIn("Pod", namespace)) {
      if (pod.metadata?.labels?.[LABEL.device] !== device) continue;
      const module = pod.metadata.labels[LABEL.module] ?? "";
      byModule.set(module, [...(byModule.get(module) ?? []), pod as V1Pod]);
    }
    return byModule;
  }

  /** Applies and prunes; returns the first error's message (the pass stops there), or undefined. */
  private async execute(plan: Plan, owner: EdgeDeploymentObject, log: Logger): Promise<string | undefined> {
    const done: string[] = [];
    let failure: string | undefined;
    // Kinds in order (a Deployment's ServiceAccount and claims exist before it); within a kind, in parallel.
    for (const batch of byConsecutiveKind(plan.apply)) {
      const results = await mapLimit(batch, APPLY_CONCURRENCY, async (object) => {
        const ref = `${object.kind ?? ""}/${object.metadata?.name ?? ""}`;
        try {
          await this.client.apply(object, FIELD_MANAGER);
          this.metrics?.appliedObjects.inc({ kind: object.kind ?? "" });
          return { ref };
        } catch (error) {
          if (error instanceof NotLeaderError) throw error;
          return { ref, error: `applying ${ref}: ${(error as Error).message}` };
        }
      });
      for (const r of results) {
        if (r.error === undefined) done.push(r.ref);
        else failure ??= r.error;
      }
      if (failure !== undefined) break;
    }
    const pruned: string[] = [];
    if (failure === undefined) {
      for (const object of plan.prune) {
        const ref = `${object.kind ?? ""}/${object.metadata?.name ?? ""}`;
        try {
          await this.client.delete(
            resourceFor(object.kind ?? ""),
            object.metadata?.namespace,
            object.metadata?.name ?? "",
            object.metadata?.uid,
          );
          pruned.push(ref);
        } catch (error) {
          if (error instanceof NotLeaderError) throw error;
          if (error instanceof KubeError && error.status === 409) continue; // replaced meanwhile: not ours to delete
          failure = `deleting ${ref}: ${(error as Error).message}`;
          break;
        }
      }
    }
    if (done.length > 0 || pruned.length > 0) {
      log.info("applied", { applied: done, pruned });
      const parts = [
        done.length > 0 ? `applied ${done.join(", ")}` : "",
        pruned.length > 0 ? `deleted ${pruned.join(", ")}` : "",
      ].filter((p) => p !== "");
      await this.event(owner, "Normal", "Applied", parts.join("; "));
    }
    if (failure !== undefined) {
      log.error("apply failed", { error: failure });
      await this.event(owner, "Warning", "ApplyFailed", failure);
    }
    return failure;
  }

  /**
   * Writes status only when it differs from what the object has; returns whether it wrote. The write
   * carries the resourceVersion the pass read: a pass that read an older EdgeDeployment than the one
   * stored gets 409 and is retried, so `observedGeneration` never goes back.
   */
  private async writeStatus(owner: EdgeDeploymentObject, outcome: Outcome): Promise<boolean> {
    const now = this.now();
    const generation = owner.metadata?.generation ?? 0;
    if ((owner.status?.observedGeneration ?? 0) > generation) return false;
    const computed = edgeDeploymentStatus({
      generation,
      desiredVersion: owner.spec?.desiredVersion,
      previous: owner.status,
      now: now.toISOString(),
      outcome,
    });
    const status = withHeartbeat(computed, owner.status?.heartbeat, now, this.options.heartbeatMs);
    if (owner.status && contentHash(owner.status) === contentHash(status)) return false;
    const resourceVersion = owner.metadata?.resourceVersion ?? "";
    await this.client.apply(
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: {
          name: owner.metadata?.name ?? "",
          namespace: owner.metadata?.namespace ?? "",
          resourceVersion,
        },
        status,
      },
      FIELD_MANAGER,
      "status",
    );
    this.replacedVersions.set(`${owner.metadata?.namespace ?? ""}/${owner.metadata?.name ?? ""}`, resourceVersion);
    return true;
  }

  private async event(
    owner: EdgeDeploymentObject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    const now = this.now().toISOString();
    const name = owner.metadata?.name ?? "";
    try {
      await this.client.create({
        apiVersion: "v1",
        kind: "Event",
        metadata: {
          name: `${name}.${contentHash([now, reason, message, ++this.eventSequence, process.pid])}`,
          namespace: owner.metadata?.namespace ?? "",
        },
        involvedObject: {
          apiVersion: API_VERSION,
          kind: KIND,
          name,
          namespace: owner.metadata?.namespace ?? "",
          uid: owner.metadata?.uid ?? "",
        },
        reason,
        message: message.slice(0, 1024),
        type,
        source: { component: FIELD_MANAGER },
        reportingComponent: FIELD_MANAGER,
        reportingInstance: this.options.instance ?? FIELD_MANAGER,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (error) {
      if (error instanceof NotLeaderError) throw error;
      this.log.warn("could not record event", { reason, error: (error as Error).message });
    }
  }
}
