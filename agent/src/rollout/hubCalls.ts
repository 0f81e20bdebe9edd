import { statusOf } from "../hub/retry.ts";

/**
 * Every call the rollout makes to IoT Hub, counted by kind and retried when IoT Hub throttles.
 * IoT Hub answers a throttled call with 429 and no Retry-After; its body reads "Wait 10 seconds and
 * try again" ([3p] ROLLOUT.md H15), and "the client should back-off and retry"
 * (iot-hub-devguide-quotas-throttling.md). So a 429 (or a 5xx, or no answer) is retried from 10 s,
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
}

export const HUB_RETRY: Omit<RetryPolicy, "sleep" | "random"> = {
  firstDelayMs: 10_000,
  maxDelayMs: 60_000,
  attempts: 8,
};

function retryable(error: unknown): boolean {
  const status = statusOf(error);
  return status === undefined ? !(error instanceof TypeError) : status === 429 || status >= 500;
}

export class HubCalls {
  private readonly policy: RetryPolicy;
  private readonly counts = new Map<CallKind, number>();
  private readonly started: number;
  private readonly clock: () => number;
  throttled = 0;
  throttledMs = 0;

  constructor(policy: RetryPolicy, clock: () => number = Date.now) {
    this.policy = policy;
    this.clock = clock;
    this.started = clock();
  }

  count(kind: CallKind): number {
    return this.counts.get(kind) ?? 0;
  }

  async call<T>(kind: CallKind, fn: () => Promise<T>): Promise<T> {
    let delay = this.policy.firstDelayMs;
    for (let attempt = 1; ; attempt++) {
      this.counts.set(kind, this.count(kind) + 1);
      try {
        return await fn();
      } catch (error) {
        if (!retryable(error) || attempt >= this.policy.attempts) throw error;
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
    ];
  }
}
