import { isTransient, statusOf } from "../hub/retry.ts";

/**
 * Every call the rollout makes to IoT Hub, counted by kind and retried when IoT Hub throttles.
 * IoT Hub answers a throttled call with 429 and no Retry-After; its body reads "Wait 10 seconds and
 * try again" ([3p] ROLLOUT.md H15), and "the client should back-off and retry"
 * (iot-hub-devguide-quotas-throttling.md). So a 429 (or a 408, a 5xx, or no answer: hub/retry.ts `isTransient`) is retried from 10 s,
 * doubling to a minute, with up to 50 % jitter so several drivers do not retry in step; the time lost
 * is reported, since the query throttle (20/min/unit on S1) is shared with every other tool.
 */
export type CallKind = "query" | "twinRead" | "configurationRead" | "configurationWrite";

export interface RetryPolicy {
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  readonly attempts: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  /**
   * Queries this driver may send in any minute: half of the hub's query throttle (20/min per unit
   * on F1, S1, S2; 1,000 on S3), the other half left to the tools and people sharing it (ROLLOUT.md §B6).
   * A query beyond it waits for the window to move, so a fast poll slows down instead of being throttled.
   */
  readonly queriesPerMinute?: number;
}

export const HUB_RETRY: Omit<RetryPolicy, "sleep" | "random"> = {
  firstDelayMs: 10_000,
  maxDelayMs: 60_000,
  attempts: 8,
};

export class HubCalls {
  private readonly policy: RetryPolicy;
  private readonly counts = new Map<CallKind, number>();
  private readonly started: number;
  private readonly clock: () => number;
  throttled = 0;
  throttledMs = 0;
  /** Time queries waited for the budget. */
  pacedMs = 0;
  private readonly sentQueries: number[] = [];

  constructor(policy: RetryPolicy, clock: () => number = Date.now) {
    this.policy = policy;
    this.clock = clock;
    this.started = clock();
  }

  count(kind: CallKind): number {
    return this.counts.get(kind) ?? 0;
  }

  /** Waits until one more query fits in the last minute's budget. */
  private async admitQuery(): Promise<void> {
    const limit = this.policy.queriesPerMinute;
    if (limit === undefined) return;
    for (;;) {
      const now = this.clock();
      while (this.sentQueries.length > 0 && now - this.sentQueries[0]! >= 60_000) this.sentQueries.shift();
      if (this.sentQueries.length < limit) {
        this.sentQueries.push(now);
        return;
      }
      const wait = 60_000 - (now - this.sentQueries[0]!);
      this.pacedMs += wait;
      await this.policy.sleep(wait);
    }
  }

  async call<T>(kind: CallKind, fn: () => Promise<T>): Promise<T> {
    if (kind === "query") await this.admitQuery();
    let delay = this.policy.firstDelayMs;
    for (let attempt = 1; ; attempt++) {
      this.counts.set(kind, this.count(kind) + 1);
      try {
        return await fn();
      } catch (error) {
        if (!isTransient(error) || attempt >= this.policy.attempts) throw error;
        if (statusOf(error) === 429) this.throttled++;
        const wait = Math.round(delay * (1 + 0.5 * this.policy.random()));
        this.throttledMs += wait;
        await this.policy.sleep(wait);
        delay = Math.min(delay * 2, this.policy.maxDelayMs);
      }
    }
  }

  /** "queries 42 (8.4/min), twin reads 310, configuration reads 21, writes 20, throttled 2× (25 s)". */
  summary(): string[] {
    const minutes = Math.max((this.clock() - this.started) / 60_000, 1 / 60);
    const queries = this.count("query");
    return [
      `queries ${queries} (${(queries / minutes).toFixed(1)}/min)`,
      `twin reads ${this.count("twinRead")}`,
      `configuration reads ${this.count("configurationRead")}, writes ${this.count("configurationWrite")}`,
      `throttled ${this.throttled}× (${Math.round(this.throttledMs / 1000)} s waited)`,
      ...(this.pacedMs > 0 ? [`queries paced to the budget (${Math.round(this.pacedMs / 1000)} s waited)`] : []),
    ];
  }
}
