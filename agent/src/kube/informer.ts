import { setTimeout as sleep } from "node:timers/promises";
import { type KubeClient, KubeError, type Selector, type WatchEvent } from "./client.ts";
import { type KubeObject, keyOf } from "./objects.ts";
import type { ResourceType } from "./resources.ts";
import type { Logger } from "../runtime/log.ts";

export interface InformerHandlers<T> {
  /** An object appeared or changed (also for every object after a relist). */
  readonly onUpsert: (object: T) => void;
  readonly onDelete: (object: T) => void;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

/**
 * A list-then-watch cache of one resource type in one namespace (or all). A watch that ends is
 * resumed from the last resource version; an expired version (410) or any error leads to a fresh
 * list, with backoff — the process itself never exits because of the API server. `refresh` lists
 * again at once, for a caller that must not act on anything older than now (a new leader).
 */
export class Informer<T extends KubeObject> {
  readonly store = new Map<string, T>();
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  /** Callers of `refresh` waiting for the next list to complete. */
  private refreshWaiters: (() => void)[] = [];
  /** Ends the watch in progress, or the backoff sleep, when a refresh is asked for. */
  private interrupt = new AbortController();
  private readonly client: KubeClient;
  private readonly type: ResourceType;
  private readonly selector: Selector;
  private readonly handlers: InformerHandlers<T>;
  private readonly log: Logger;

  constructor(client: KubeClient, type: ResourceType, selector: Selector, handlers: InformerHandlers<T>, log: Logger) {
    this.client = client;
    this.type = type;
    this.selector = selector;
    this.handlers = handlers;
    this.log = log;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Lists again now; resolves once a list started after this call is in the store. */
  refresh(): Promise<void> {
    return new Promise((resolve) => {
      this.refreshWaiters.push(resolve);
      this.interrupt.abort();
    });
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const stopped = () => signal.aborted;
    let backoff = MIN_BACKOFF_MS;
    while (!stopped()) {
      this.interrupt = new AbortController();
      const interrupted = AbortSignal.any([signal, this.interrupt.signal]);
      const waiters = this.refreshWaiters.splice(0);
      try {
        let resourceVersion = await this.relist();
        for (const resolve of waiters.splice(0)) resolve();
        backoff = MIN_BACKOFF_MS;
        while (!interrupted.aborted) {
          const watch = { expired: false };
          await this.client.watch<T>(
            this.type,
            this.selector,
            resourceVersion,
            (event) => {
              if (watch.expired) return;
              const next = this.apply(event);
              if (next.expired) watch.expired = true;
              else if (next.resourceVersion !== undefined) resourceVersion = next.resourceVersion;
            },
            interrupted,
          );
          if (watch.expired) break;
        }
      } catch (error) {
        this.refreshWaiters.unshift(...waiters);
        if (stopped()) return;
        // Someone waits for a fresh list (a new leader): retry soon, whatever the backoff reached.
        const delay = this.refreshWaiters.length > 0 ? MIN_BACKOFF_MS : backoff;
        this.log.warn("watch failed; listing again", {
          kind: this.type.kind,
          namespace: this.selector.namespace,
          error: (error as Error).message,
          retryInMs: delay,
        });
        await sleep(delay, undefined, { signal: interrupted }).catch(() => undefined);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private strip(object: T): T {
    if (object.metadata?.managedFields) delete object.metadata.managedFields;
    return object;
  }

  private async relist(): Promise<string> {
    const { items, resourceVersion } = await this.client.list<T>(this.type, this.selector);
    const seen = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      this.store.set(key, this.strip(item));
      this.handlers.onUpsert(item);
    }
    for (const [key, old] of this.store) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.handlers.onDelete(old);
      }
    }
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
    return resourceVersion;
  }

  /** Applies one watch event; returns the new resource version, or `expired` when a relist is needed. */
  private apply(event: WatchEvent<T>): { resourceVersion?: string | undefined; expired?: boolean } {
    if (event.type === "ERROR") {
      if (event.object.code === 410) return { expired: true };
      throw new KubeError(event.object.code ?? 500, event.object.reason ?? "", event.object.message ?? "watch error");
    }
    if (event.type === "BOOKMARK") return { resourceVersion: event.object.metadata?.resourceVersion };
    const object = this.strip({ ...event.object, apiVersion: this.type.apiVersion, kind: this.type.kind });
    const key = keyOf(object);
    if (event.type === "DELETED") {
      this.store.delete(key);
      this.handlers.onDelete(object);
    } else {
      this.store.set(key, object);
      this.handlers.onUpsert(object);
    }
    return { resourceVersion: object.metadata?.resourceVersion };
  }
}
