import { monotonicMs } from "./clock.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { type KubeClient, KubeError } from "../kube/client.ts";
import { NotLeaderError, type WriteFence } from "../kube/fence.ts";
import type { KubeObject } from "../kube/objects.ts";
import { RESOURCES } from "../kube/resources.ts";
import type { Logger } from "./log.ts";

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  /** How long a lease lasts without renewal: another replica may take it over after this. */
  readonly leaseDurationMs: number;
  /** A leader stops writing, and stands by, once its last successful renewal is this old (< lease duration). */
  readonly renewDeadlineMs: number;
  /** How often the leader renews and a candidate retries. */
  readonly retryPeriodMs: number;
  /** A monotonic clock in milliseconds (default `monotonicMs`); never the wall clock. */
  readonly clock?: () => number;
  readonly now?: () => Date;
}

/** Leader election timings from the lease duration, in the proportions of client-go's defaults (15 s, 10 s, 2 s). */
export function electionTimings(leaseDurationSeconds: number, renewDeadlineSeconds?: number) {
  const leaseDurationMs = leaseDurationSeconds * 1000;
  const renewDeadlineMs =
    renewDeadlineSeconds !== undefined ? renewDeadlineSeconds * 1000 : Math.round((leaseDurationMs * 2) / 3);
  if (renewDeadlineMs >= leaseDurationMs)
    throw new RangeError(
      `the renew deadline (${renewDeadlineMs / 1000} s) must be shorter than the lease duration (${leaseDurationSeconds} s)`,
    );
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs: Math.max(200, Math.round(leaseDurationMs / 7.5)) };
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

type Lease = KubeObject & { spec?: LeaseSpec };

/** Microsecond-precision time, as the Lease API expects (MicroTime). */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * Whether `identity` may take the lease now: it is free or its own, or its record has not changed for
 * a whole lease duration as this replica observed it. Times are this replica's monotonic clock, never
 * the times written in the lease, so clocks that disagree between hosts cannot shorten a lease.
 */
export function canAcquire(
  spec: LeaseSpec | undefined,
  identity: string,
  unchangedSinceMs: number,
  nowMs: number,
  leaseDurationMs: number,
): boolean {
  if (!spec?.holderIdentity || spec.holderIdentity === identity) return true;
  const duration = Math.max(leaseDurationMs, (spec.leaseDurationSeconds ?? 0) * 1000);
  return nowMs - unchangedSinceMs > duration;
}

interface Term {
  readonly number: number;
  readonly abort: AbortController;
}

/**
 * Lease-based leader election (coordination.k8s.io/v1), so several agent replicas are safe with one
 * active. Writes to the Lease carry its resourceVersion: two candidates cannot both win. It is also
 * the write fence of everything else the replica writes: a write may go out only during a term
 * while the last successful renewal — timed from when it was sent, on the monotonic clock — is
 * younger than the renew deadline. Another replica takes over only after a whole lease duration
 * without a change, so the two never write in the same window, even when this one was paused.
 */
export class LeaderElector implements WriteFence {
  private readonly client: KubeClient;
  private readonly options: LeaderElectionOptions;
  private readonly log: Logger;
  private lease: Lease | undefined;
  /** The lease record as last seen (its resourceVersion) and when it was first seen so, on the monotonic clock. */
  private observed: { resourceVersion: string; sinceMs: number } | undefined;
  /** When the last successful acquire or renew attempt started, on the monotonic clock. */
  private renewedAtMs: number | undefined;
  private term: Term | undefined;
  private terms = 0;
  /** Writes the fence refused (a stale pass, a paused replica); exported as a metric. */
  refusedWrites = 0;

  constructor(client: KubeClient, options: LeaderElectionOptions, log: Logger) {
    // Lease calls never wait longer than half the renew deadline, so a hanging server cannot stall renewal.
    this.client = client.with({ requestTimeoutMs: Math.max(250, options.renewDeadlineMs / 2), fence: undefined });
    this.options = options;
    this.log = log.with({ lease: `${options.namespace}/${options.name}` });
  }

  private clock(): number {
    return this.options.clock?.() ?? monotonicMs();
  }

  /** Holds the lease now, by this replica's own clock. */
  get isLeader(): boolean {
    return (
      this.term !== undefined &&
      this.renewedAtMs !== undefined &&
      this.clock() - this.renewedAtMs < this.options.renewDeadlineMs
    );
  }

  assertMayWrite(what: string): void {
    if (this.isLeader) return;
    this.refusedWrites++;
    throw new NotLeaderError(`not the leader (lease ${this.options.namespace}/${this.options.name}): ${what} not sent`);
  }

  /** One attempt to acquire or renew; true when this replica holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs } = this.options;
    const startedMs = this.clock();
    const now = microTime(this.options.now?.() ?? new Date());
    const renewal = (current: Lease): Lease => {
      const takeover = current.spec?.holderIdentity !== identity;
      return {
        ...current,
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        spec: {
          ...current.spec,
          holderIdentity: identity,
          leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
          renewTime: now,
          ...(takeover ? { acquireTime: now, leaseTransitions: (current.spec?.leaseTransitions ?? 0) + 1 } : {}),
        },
      };
    };
    try {
      // A leader renews over the lease it last wrote; only when that is stale does it read the lease again.
      if (this.term && this.lease?.spec?.holderIdentity === identity) {
        try {
          return this.succeeded(await this.client.replace<Lease>(renewal(this.lease)), startedMs);
        } catch (error) {
          if (!(error instanceof KubeError && error.status === 409)) throw error;
        }
      }
      const current = await this.client.get<Lease>(RESOURCES.Lease, namespace, name);
      if (!current) {
        const created = await this.client.create<Lease>({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        return this.succeeded(created, startedMs);
      }
      const rv = current.metadata?.resourceVersion ?? "";
      if (this.observed?.resourceVersion !== rv) this.observed = { resourceVersion: rv, sinceMs: this.clock() };
      this.lease = current;
      if (!canAcquire(current.spec, identity, this.observed.sinceMs, this.clock(), leaseDurationMs)) return false;
      return this.succeeded(await this.client.replace<Lease>(renewal(current)), startedMs);
    } catch (error) {
      if (!(error instanceof KubeError && (error.status === 409 || error.status === 404)))
        this.log.warn("leader election request failed", { error: (error as Error).message });
      return false;
    }
  }

  private succeeded(lease: Lease, startedMs: number): boolean {
    this.lease = lease;
    this.observed = { resourceVersion: lease.metadata?.resourceVersion ?? "", sinceMs: this.clock() };
    // A late answer to an older attempt (a renewal of an ended term) never moves the renewal back.
    this.renewedAtMs = Math.max(this.renewedAtMs ?? startedMs, startedMs);
    return true;
  }

  /**
   * Competes until this replica leads; resolves with the term's signal, or undefined once `signal`
   * aborts. The term's signal aborts when the renew deadline passes without a renewal (the replica
   * stands by and may compete again) or when `signal` aborts.
   */
  async acquire(signal: AbortSignal): Promise<AbortSignal | undefined> {
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) {
      await sleep(this.jittered(), undefined, { signal }).catch(() => undefined);
    }
    if (signal.aborted) return undefined;
    const term: Term = { number: ++this.terms, abort: new AbortController() };
    this.term = term;
    this.log.info("became leader", { identity: this.options.identity, term: term.number });
    void this.renew(term, signal);
    return term.abort.signal;
  }

  private jittered(): number {
    return this.options.retryPeriodMs * (1 + Math.random() * 0.2);
  }

  /** Renews every retry period; ends the term once the renew deadline passes, or when `signal` aborts. */
  private async renew(term: Term, signal: AbortSignal): Promise<void> {
    const expired = () =>
      this.renewedAtMs === undefined || this.clock() - this.renewedAtMs >= this.options.renewDeadlineMs;
    // Timers do not run while the process is paused: on resume this fires at once if the deadline passed.
    let deadline: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(deadline);
      const left = Math.max(0, (this.renewedAtMs ?? 0) + this.options.renewDeadlineMs - this.clock());
      deadline = setTimeout(() => {
        if (expired()) term.abort.abort();
        else arm();
      }, left);
    };
    arm();
    const stop = AbortSignal.any([signal, term.abort.signal]);
    const ended = () => stop.aborted || expired();
    while (!ended()) {
      await sleep(this.options.retryPeriodMs, undefined, { signal: stop }).catch(() => undefined);
      if (ended()) break;
      if (await this.tryAcquireOrRenew()) arm();
      // Another replica holds it: it waited a whole lease duration, so this term is over now.
      if (expired() || this.lease?.spec?.holderIdentity !== this.options.identity) break;
    }
    clearTimeout(deadline);
    const lost = !signal.aborted;
    // A renewal that hung past the deadline can end after the next term began: that term is not this one's to end.
    if (this.term === term) this.term = undefined;
    term.abort.abort();
    if (lost) this.log.error("lost leadership; standing by", { identity: this.options.identity, term: term.number });
  }

  /** Gives the lease up at shutdown, so another replica takes over at once; only when this replica still holds it. */
  async release(): Promise<void> {
    const lease = this.lease;
    if (!lease || lease.spec?.holderIdentity !== this.options.identity) return;
    this.renewedAtMs = undefined;
    try {
      await this.client.replace({
        ...lease,
        spec: { ...lease.spec, holderIdentity: null, renewTime: null, acquireTime: null },
      });
    } catch (error) {
      if (!(error instanceof KubeError && error.status === 409))
        this.log.warn("could not release the lease", { error: (error as Error).message });
    }
  }
}
