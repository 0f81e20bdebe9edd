import { monotonicMs } from "../runtime/clock.ts";
import { ClusterCache } from "./cache.ts";
import { WorkQueue } from "./queue.ts";
import { Reconciler, type ReconcilerOptions } from "./reconciler.ts";
import { KIND } from "../crd/edgeDeployment.ts";
import { type KubeClient, KubeError } from "../kube/client.ts";
import { NotLeaderError } from "../kube/fence.ts";
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
  private cacheStarted = false;
  private working = false;
  private workersDone: Promise<void> = Promise.resolve();

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

  /** Synced and working: reconciling (without leader election), or in a term whose fresh list is done. */
  get ready(): boolean {
    return this.cache.synced && this.working;
  }

  /** Starts watching (once); resolves when the cache is synced. A standby replica keeps its cache warm this way. */
  async startCache(): Promise<void> {
    if (!this.cacheStarted) {
      this.cacheStarted = true;
      void this.cache.run(this.abort.signal);
    }
    await this.cache.waitForSync();
  }

  /** Starts watching and working, with no leader election; resolves once the cache is synced and workers run. */
  async start(): Promise<void> {
    await this.startCache();
    this.workersDone = this.runWorkers(this.abort.signal);
  }

  /**
   * Works for one leader term: first lists everything again, so nothing older than the term is acted
   * on (a replica that was paused or cut off has a stale cache), then reconciles until `term` aborts.
   * Passes in flight then fail at their next write, which the client's fence refuses; resolves once
   * every worker has stopped. Keys stay queued for the next term.
   */
  async lead(term: AbortSignal): Promise<void> {
    const ended = new Promise<void>((resolve) => {
      if (term.aborted) resolve();
      term.addEventListener("abort", () => {
        resolve();
      });
    });
    await Promise.race([this.startCache().then(() => this.cache.refresh()), ended]);
    if (term.aborted || this.abort.signal.aborted) return;
    this.workersDone = this.runWorkers(AbortSignal.any([term, this.abort.signal]));
    await this.workersDone;
  }

  private async runWorkers(signal: AbortSignal): Promise<void> {
    this.resync();
    const workers = Array.from({ length: this.options.workers ?? 4 }, () => this.work(signal));
    const resyncTimer = setInterval(
      () => {
        this.resync();
      },
      // A heartbeat (local stacks) is refreshed by the resync: at least once per heartbeat interval.
      Math.min(this.options.resyncMs ?? 5 * 60_000, this.options.heartbeatMs ?? Infinity),
    );
    resyncTimer.unref();
    this.working = true;
    this.log.info("controller started", {
      namespaces: this.options.namespaces.map((n) => n ?? "*"),
      edgeDeployments: this.cache.edgeDeploymentKeys().length,
    });
    await Promise.all(workers);
    clearInterval(resyncTimer);
    this.working = false;
  }

  /** Enqueues every EdgeDeployment now (what the periodic resync does). */
  resync(): void {
    for (const key of this.cache.edgeDeploymentKeys()) this.queue.add(key);
  }

  /** Resolves when the queue is empty and no key is being processed. */
  async idle(pollMs = 20): Promise<void> {
    while (this.queue.length > 0 || this.queue.busy > 0) await new Promise((r) => setTimeout(r, pollMs));
  }

  private async work(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get(signal);
      if (key === undefined) return;
      const start = monotonicMs();
      try {
        const result = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        this.metrics.reconciles.inc({ result: "success" });
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        this.failed(key, error, signal);
      } finally {
        this.metrics.reconcileDuration.observe((monotonicMs() - start) / 1000);
        this.queue.done(key);
      }
    }
  }

  private failed(key: string, error: unknown, signal: AbortSignal): void {
    // The term ended under this pass: the fence refused its writes; the next term lists everything again.
    if (error instanceof NotLeaderError || signal.aborted) {
      this.log.debug("pass cancelled: not the leader", { key });
      return;
    }
    const delay = this.queue.addRateLimited(key);
    this.metrics.reconciles.inc({ result: "error" });
    this.metrics.reconcileErrors.inc();
    // 409: the pass read an EdgeDeployment older than the stored one; the retry reads the newer one.
    if (error instanceof KubeError && error.status === 409) {
      this.log.debug("stale read; retrying", { key, retryInMs: delay });
      return;
    }
    this.log.warn("reconcile failed; retrying", { key, error: (error as Error).message, retryInMs: delay });
  }

  /** Stops taking work, lets passes in flight finish (up to `timeoutMs`) and stops the watches. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.queue.shutDown();
    await Promise.race([this.workersDone, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.abort.abort();
  }
}
