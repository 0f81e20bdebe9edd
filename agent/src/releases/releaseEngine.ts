import { type DeviceUpdate, planReleases, type Release } from "./engine.ts";
import { canonicalJson } from "../runtime/canonical.ts";
import {
  type EdgeDeploymentObject,
  type EdgeReleaseObject,
  type ObservedDevice,
  deviceFromObjects,
  releaseFromObject,
} from "./observed.ts";
import { desiredVersionsAfter, releaseStatus } from "./systemMetrics.ts";
import { Trigger } from "./trigger.ts";
import { API_VERSION, KIND } from "../crd/edgeDeployment.ts";
import { type EdgeReleaseStatus, RELEASE_API_VERSION, RELEASE_KIND } from "../crd/edgeRelease.ts";
import { type KubeClient, KubeError } from "../kube/client.ts";
import { Informer } from "../kube/informer.ts";
import type { KubeObject } from "../kube/objects.ts";
import { RESOURCES } from "../kube/resources.ts";
import type { Logger } from "../runtime/log.ts";
import { mapLimit } from "../runtime/mapLimit.ts";

/** The field manager of everything the release engine writes. */
export const RELEASE_ENGINE_MANAGER = "edgek8s-release-engine";

export interface ReleaseEngineOptions {
  /**
   * 0: evaluate soon after every change. Otherwise evaluate on this cadence only, the way IoT Hub runs
   * its configurations ("then at five minute intervals"), so a laptop rehearses the hub's latency.
   */
  readonly evalIntervalMs?: number;
  /** Quiet time after a change before an evaluation (a burst of watch events makes one evaluation). */
  readonly debounceMs?: number;
  /** With evalIntervalMs 0: evaluate this often even without events. */
  readonly resyncMs?: number;
  /** EdgeDeployments written at once. */
  readonly writeConcurrency?: number;
}

/**
 * The local stack's IoT Hub deployment engine: watches EdgeReleases, the device namespaces' tags and
 * the EdgeDeployments; on any change evaluates every release against every device (the pure
 * `planReleases`), server-side applies each changed device's EdgeDeployment spec (`edgeAgent`,
 * `edgeHub`, `desiredVersion`) and writes each release's status with IoT Hub's system metrics.
 * Level-triggered: one work item, whatever changed; an evaluation with nothing to change writes
 * nothing. All writes go through `client`, as `edgek8s-release-engine`.
 */
export class ReleaseEngine {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly options: ReleaseEngineOptions;
  private readonly releases: Informer<EdgeReleaseObject>;
  private readonly namespaces: Informer<KubeObject>;
  private readonly edgeDeployments: Informer<EdgeDeploymentObject>;
  private readonly abort = new AbortController();
  private trigger: Trigger | undefined;
  private evaluationCount = 0;
  private changeCount = 0;
  private ticker: NodeJS.Timeout | undefined;
  /** Specs this engine wrote, until the watch cache shows them (a newer generation of the same object). */
  private readonly writtenSpecs = new Map<string, EdgeDeploymentObject>();
  /** Statuses this engine wrote, while the cache still holds the version they replaced. */
  private readonly writtenStatuses = new Map<string, { uid: string; replaced: string; status: EdgeReleaseStatus }>();
  private readonly problems = new Map<string, string>();

  constructor(client: KubeClient, log: Logger, options: ReleaseEngineOptions = {}) {
    this.client = client;
    this.log = log.with({ component: "release-engine" });
    this.options = options;
    const handlers = {
      onUpsert: () => {
        this.changed();
      },
      onDelete: () => {
        this.changed();
      },
    };
    this.releases = new Informer(client, RESOURCES.EdgeRelease, {}, handlers, this.log);
    this.namespaces = new Informer(client, RESOURCES.Namespace, {}, handlers, this.log);
    this.edgeDeployments = new Informer(client, RESOURCES.EdgeDeployment, {}, handlers, this.log);
  }

  private get informers(): Informer<KubeObject>[] {
    return [this.releases, this.namespaces, this.edgeDeployments];
  }

  private changed(): void {
    this.changeCount++;
    if ((this.options.evalIntervalMs ?? 0) === 0) this.trigger?.poke();
  }

  get ready(): boolean {
    return this.trigger !== undefined && this.informers.every((i) => i.hasSynced);
  }

  /** Starts watching; resolves once the caches are synced and the first evaluation is scheduled. */
  async start(): Promise<void> {
    for (const informer of this.informers) void informer.run(this.abort.signal);
    await Promise.all(this.informers.map((i) => i.waitForSync()));
    // Stopped while the caches synced (a leader term that ended early): start nothing that outlives it.
    if (this.abort.signal.aborted) return;
    const trigger = new Trigger(() => this.evaluate(), { debounceMs: this.options.debounceMs ?? 100 });
    this.trigger = trigger;
    trigger.poke();
    const interval = this.options.evalIntervalMs ?? 0;
    this.ticker = setInterval(
      () => {
        trigger.poke();
      },
      interval > 0 ? interval : (this.options.resyncMs ?? 300_000),
    );
    this.ticker.unref();
    this.log.info("release engine started", {
      releases: this.releases.store.size,
      edgeDeployments: this.edgeDeployments.store.size,
      evalIntervalMs: interval,
    });
  }

  /** How many evaluations have run since start (each one of every release against every device). */
  get evaluations(): number {
    return this.evaluationCount;
  }

  /** How many changes its caches have seen (each one an evaluation soon, or at the next interval). */
  get changes(): number {
    return this.changeCount;
  }

  /** Resolves when no evaluation is waiting or running. */
  async idle(): Promise<void> {
    await this.trigger?.whenIdle();
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    await this.trigger?.stop();
    this.abort.abort();
  }

  /** One evaluation of every release against every device; true when every write succeeded. */
  private async evaluate(): Promise<boolean> {
    this.evaluationCount++;
    const releaseObjects = [...this.releases.store.values()];
    const releases: Release[] = [];
    const contentErrors = new Map<string, string>();
    for (const object of releaseObjects) {
      const parsed = releaseFromObject(object);
      if ("problem" in parsed) contentErrors.set(object.metadata?.name ?? "", parsed.problem);
      else releases.push(parsed.release);
    }
    const observed = this.observeDevices();
    const plan = planReleases(
      releases,
      observed.map((o) => o.device),
    );
    const byDevice = new Map<string, string[]>();
    for (const [id, outcome] of plan.releases)
      for (const deviceId of outcome.applied) byDevice.set(deviceId, [...(byDevice.get(deviceId) ?? []), id]);
    const undelivered = new Set<string>();
    await mapLimit(plan.updates, this.options.writeConcurrency ?? 8, async (update) => {
      try {
        await this.writeDevice(update, byDevice.get(update.deviceId) ?? []);
      } catch (error) {
        undelivered.add(update.deviceId);
        this.log.warn("writing the device's deployment failed; retrying", {
          device: update.deviceId,
          key: update.key,
          error: (error as Error).message,
        });
      }
    });
    const versions = desiredVersionsAfter(
      plan,
      observed.map((o) => o.device),
      undelivered,
    );
    const reports = new Map(observed.map((o) => [o.device.deviceId, o.report]));
    let statusFailures = 0;
    for (const object of releaseObjects) {
      const name = object.metadata?.name ?? "";
      const status = releaseStatus({
        generation: object.metadata?.generation ?? 0,
        outcome: plan.releases.get(name),
        desiredVersions: versions,
        reports,
        undelivered,
        contentError: contentErrors.get(name),
      });
      try {
        await this.writeStatus(object, status);
      } catch (error) {
        // Deleted since the cache saw it: its watch event brings the next evaluation.
        if (error instanceof KubeError && error.status === 404) continue;
        statusFailures++;
        this.log.warn("writing a release's status failed; retrying", { name, error: (error as Error).message });
      }
    }
    return undelivered.size === 0 && statusFailures === 0;
  }

  /** The devices as the cache has them, with this engine's own writes the cache has not shown yet. */
  private observeDevices(): ObservedDevice[] {
    const devices: ObservedDevice[] = [];
    for (const [key, cached] of this.edgeDeployments.store) {
      const object = this.withOwnWrite(key, cached);
      const namespace = this.namespaces.store.get(object.metadata?.namespace ?? "");
      const observed = deviceFromObjects(object, namespace);
      if (observed !== undefined && "problem" in observed) {
        this.reportProblem(key, observed.problem);
        continue;
      }
      this.problems.delete(key);
      if (observed !== undefined) devices.push(observed);
    }
    return devices;
  }

  private withOwnWrite(key: string, cached: EdgeDeploymentObject): EdgeDeploymentObject {
    const written = this.writtenSpecs.get(key);
    if (written === undefined) return cached;
    const newer =
      written.metadata?.uid === cached.metadata?.uid &&
      (written.metadata?.generation ?? 0) > (cached.metadata?.generation ?? 0);
    if (newer) return written;
    this.writtenSpecs.delete(key);
    return cached;
  }

  /** A device the engine cannot evaluate is left alone; its problem is logged once, not per evaluation. */
  private reportProblem(key: string, problem: string): void {
    if (this.problems.get(key) === problem) return;
    this.problems.set(key, problem);
    const [namespace, name] = key.split("/");
    this.log.warn("device left alone: its tags cannot be read", { namespace, name, problem });
  }

  private async writeDevice(update: DeviceUpdate, releases: readonly string[]): Promise<void> {
    const [namespace = "", name = ""] = update.key.split("/");
    const written = await this.client.apply<EdgeDeploymentObject>(
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name, namespace },
        spec: {
          desiredVersion: update.desiredVersion,
          edgeAgent: update.edgeAgent,
          ...(update.edgeHub !== undefined ? { edgeHub: update.edgeHub } : {}),
        },
      },
      RELEASE_ENGINE_MANAGER,
    );
    delete written.metadata?.managedFields;
    this.writtenSpecs.set(update.key, written);
    this.log.info("device deployment written", {
      namespace,
      name,
      device: update.deviceId,
      desiredVersion: update.desiredVersion,
      releases,
    });
  }

  /** Writes a release's status when it differs from what the release has (or what this engine last wrote). */
  private async writeStatus(object: EdgeReleaseObject, status: EdgeReleaseStatus): Promise<void> {
    const name = object.metadata?.name ?? "";
    const uid = object.metadata?.uid ?? "";
    const resourceVersion = object.metadata?.resourceVersion ?? "";
    const written = this.writtenStatuses.get(name);
    const stale = written !== undefined && written.uid === uid && written.replaced === resourceVersion;
    if (!stale) this.writtenStatuses.delete(name);
    const current = stale ? written.status : object.status;
    if (current !== undefined && canonical(current) === canonical(status)) return;
    await this.client.apply(
      { apiVersion: RELEASE_API_VERSION, kind: RELEASE_KIND, metadata: { name }, status },
      RELEASE_ENGINE_MANAGER,
      "status",
    );
    this.writtenStatuses.set(name, { uid, replaced: resourceVersion, status });
    this.log.info("release status", {
      kind: RELEASE_KIND,
      name,
      ...status.systemMetrics,
      ...(status.conditionError !== undefined ? { conditionError: status.conditionError } : {}),
      ...(status.contentError !== undefined ? { contentError: status.contentError } : {}),
    });
  }
}

function canonical(status: EdgeReleaseStatus): string {
  return canonicalJson(status);
}
