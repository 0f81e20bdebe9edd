import { setTimeout as sleep } from "node:timers/promises";
import { type KubeClient, KubeError } from "../kube/client.ts";
import type { KubeObject } from "../kube/objects.ts";
import { RESOURCES } from "../kube/resources.ts";
import type { Logger } from "./log.ts";

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  /** How often the leader renews and a candidate retries. */
  readonly retryPeriodMs: number;
  readonly now?: () => Date;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

type Lease = KubeObject & { spec?: LeaseSpec };

/** Microsecond-precision time, as the Lease API expects (MicroTime). */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Whether `identity` may take the lease now: free, its own, or not renewed within its duration. */
export function canAcquire(spec: LeaseSpec | undefined, identity: string, now: Date): boolean {
  if (!spec?.holderIdentity || spec.holderIdentity === identity) return true;
  const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
  return renewed + (spec.leaseDurationSeconds ?? 15) * 1000 < now.getTime();
}

/**
 * Lease-based leader election (coordination.k8s.io/v1), so two agent replicas are safe with one
 * active. Writes use the lease's resourceVersion: two candidates cannot both win.
 */
export class LeaderElector {
  private readonly client: KubeClient;
  private readonly options: LeaderElectionOptions;
  private readonly log: Logger;
  private leading = false;
  private lease: Lease | undefined;

  constructor(client: KubeClient, options: LeaderElectionOptions, log: Logger) {
    this.client = client;
    this.options = options;
    this.log = log;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** One attempt to acquire or renew; true when this process holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationSeconds } = this.options;
    const now = microTime(this.now());
    try {
      const current = await this.client.get<Lease>(RESOURCES.Lease, namespace, name);
      if (!current) {
        this.lease = await this.client.create<Lease>({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        return (this.leading = true);
      }
      if (!canAcquire(current.spec, identity, this.now())) return (this.leading = false);
      const takeover = current.spec?.holderIdentity !== identity;
      this.lease = await this.client.replace<Lease>({
        ...current,
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        spec: {
          ...current.spec,
          holderIdentity: identity,
          leaseDurationSeconds,
          renewTime: now,
          ...(takeover ? { acquireTime: now, leaseTransitions: (current.spec?.leaseTransitions ?? 0) + 1 } : {}),
        },
      });
      return (this.leading = true);
    } catch (error) {
      if (error instanceof KubeError && (error.status === 409 || error.status === 404)) return (this.leading = false);
      this.log.warn("leader election request failed", { error: (error as Error).message });
      return (this.leading = false);
    }
  }

  /** Waits until this process leads; then renews in the background and calls `onLost` if it stops leading. */
  async acquire(signal: AbortSignal, onLost: () => void): Promise<void> {
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) {
      await sleep(this.options.retryPeriodMs, undefined, { signal }).catch(() => undefined);
    }
    if (signal.aborted) return;
    this.log.info("became leader", {
      lease: `${this.options.namespace}/${this.options.name}`,
      identity: this.options.identity,
    });
    void this.renew(signal, onLost);
  }

  private async renew(signal: AbortSignal, onLost: () => void): Promise<void> {
    const stopped = () => signal.aborted;
    let lastRenew = Date.now();
    while (!stopped()) {
      await sleep(this.options.retryPeriodMs, undefined, { signal }).catch(() => undefined);
      if (stopped()) return;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.options.leaseDurationSeconds * 1000 * 0.8) {
        this.log.error("lost leadership", { identity: this.options.identity });
        onLost();
        return;
      }
    }
  }

  /** Gives the lease up at shutdown so another replica takes over at once. */
  async release(): Promise<void> {
    if (!this.leading || !this.lease) return;
    try {
      await this.client.replace({
        ...this.lease,
        spec: { ...this.lease.spec, holderIdentity: null, renewTime: null, acquireTime: null },
      });
    } catch (error) {
      this.log.warn("could not release the lease", { error: (error as Error).message });
    }
    this.leading = false;
  }
}
