import { performance } from "node:perf_hooks";
import { ClusterCache } from "./cache.ts";
import { WorkQueue } from "./queue.ts";
import { Reconciler, type ReconcilerOptions } from "./reconciler.ts";
import { KIND } from "../crd/edgeDeployment.ts";
import type { KubeClient } from "../kube/client.ts";
import type { KubeObject } from "../kube/objects.ts";
import { k8sName } from "../naming/k8sName.ts";
import type { Logger } from "../runtime/log.ts";
import { Metrics } from "../runtime/metrics.ts";
import { LABEL } from "../translate/labels.ts";

export interface ControllerOptions extends ReconcilerOptions {
  /** Namespaces to watch; `[undefined]` watches all. */
  readonly namespaces: readonly (string | undefined)[];
  readonly workers?: number;
  /** Every EdgeDeployment is reconciled again this often, changed or not. */
  readonly resyncMs?: number;
}

/**
 * Wires the watch cache, the work queue and the reconciler: every event only enqueues the key of
 * the EdgeDeployment concerned; workers run `reconcile(key)`; failures back off per key; a
 * periodic resync enqueues everything.
 */
export class Controller {
  readonly queue = new WorkQueue();
  readonly cache: ClusterCache;
  readonly metrics: Metrics;
  private readonly reconciler: Reconciler;
  private readonly options: ControllerOptions;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(client: KubeClient, options: ControllerOptions, log: Logger, metrics = new Metrics()) {
    this.options = options;
    this.log = log;
    this.metrics = metrics;
    this.cache = new ClusterCache(
      client,
      options.namespaces,
      (key) => {
        this.queue.add(key);
      },
      (object) => {
        this.enqueueOwner(object);
      },
      log,
    );
    this.reconciler = new Reconciler(client, this.cache, options, log, metrics);
  }

  /** The EdgeDeployment an owned object belongs to: by ownerReference, else (pods) by device label. */
  private enqueueOwner(object: KubeObject): void {
    const namespace = object.metadata?.namespace ?? "";
    const owner = object.metadata?.ownerReferences?.find((r) => r.kind === KIND);
    if (owner) {
      this.queue.add(`${namespace}/${owner.name}`);
      return;
    }
    const device = object.metadata?.labels?.[LABEL.device];
    if (device === undefined) return;
    for (const key of this.cache.edgeDeploymentKeysIn(namespace)) {
      const spec = this.cache.edgeDeployment(key)?.["spec"] as { deviceId?: string } | undefined;
      if (spec?.deviceId !== undefined && k8sName(spec.deviceId) === device) this.queue.add(key);
    }
  }

  /** Gauges are read when scraped, not recomputed on every pass. */
  renderMetrics(): string {
    this.metrics.queueDepth.set({}, this.queue.length);
    this.metrics.cachedObjects.set({}, this.cache.size());
    return this.metrics.render();
  }

  get ready(): boolean {
    return this.cache.synced;
  }

  /** Starts watching; resolves once the cache is synced and workers run. */
  async start(): Promise<void> {
    void this.cache.run(this.abort.signal);
    await this.cache.waitForSync();
    for (const key of this.cache.edgeDeploymentKeys()) this.queue.add(key);
    this.workers = Array.from({ length: this.options.workers ?? 4 }, () => this.work());
    // A heartbeat (local stacks) is refreshed by the resync: at least once per heartbeat interval.
    const resync = Math.min(this.options.resyncMs ?? 5 * 60_000, this.options.heartbeatMs ?? Infinity);
    this.resyncTimer = setInterval(() => {
      for (const key of this.cache.edgeDeploymentKeys()) this.queue.add(key);
    }, resync);
    this.resyncTimer.unref();
    this.log.info("controller started", {
      namespaces: this.options.namespaces.map((n) => n ?? "*"),
      edgeDeployments: this.cache.edgeDeploymentKeys().length,
    });
  }

  /** Enqueues every EdgeDeployment now (what the periodic resync does). */
  resync(): void {
    for (const key of this.cache.edgeDeploymentKeys()) this.queue.add(key);
  }

  /** Resolves when the queue is empty and no key is being processed. */
  async idle(pollMs = 20): Promise<void> {
    while (this.queue.length > 0 || this.queue.busy > 0) await new Promise((r) => setTimeout(r, pollMs));
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const start = performance.now();
      try {
        const result = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        this.metrics.reconciles.inc({ result: "success" });
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        const delay = this.queue.addRateLimited(key);
        this.metrics.reconciles.inc({ result: "error" });
        this.metrics.reconcileErrors.inc();
        this.log.warn("reconcile failed; retrying", { key, error: (error as Error).message, retryInMs: delay });
      } finally {
        this.metrics.reconcileDuration.observe((performance.now() - start) / 1000);
        this.queue.done(key);
      }
    }
  }

  /** Stops taking work, lets passes in flight finish (up to `timeoutMs`) and stops the watches. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.queue.shutDown();
    await Promise.race([Promise.all(this.workers), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.abort.abort();
  }
}
