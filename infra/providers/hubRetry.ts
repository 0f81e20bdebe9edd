/**
 * Retries an IoT Hub call that was throttled or found the hub busy, within a time budget rather than
 * a count. IoT Hub facts honoured:
 * - configuration writes are throttled at 20 a minute per unit on every tier and queries at 20 a
 *   minute on S1 (iot-hub-devguide-quotas-throttling.md), and "If you do hit the limit, IoT Hub
 *   responds with error code 429 and the client should back-off and retry";
 * - the 429 carries no `Retry-After`, and its body reads "Wait 10 seconds and try again" ([3p],
 *   ROLLOUT.md H15): so the first wait is about 10 s, doubling up to 60 s, each with ±25 % jitter so
 *   that several writers do not retry in step;
 * - 503 (the service unavailable or busy) is retried the same way.
 * Pure apart from the clock, which is passed in.
 */
export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** In [0, 1). */
  random(): number;
}

export const systemClock: RetryClock = {
  now: () => Date.now(),
  sleep: (ms) =>
    new Promise((resolve) => {
      setTimeout(resolve, ms);
    }),
  random: () => Math.random(),
};

export interface RetryOptions {
  /** How long one operation may spend waiting on throttles before it gives up. */
  readonly budgetMs: number;
  readonly clock: RetryClock;
}

const FIRST_WAIT_MS = 10_000;
const MAX_WAIT_MS = 60_000;

export function statusOf(error: unknown): number | undefined {
  return (error as { response?: { statusCode?: number } } | undefined)?.response?.statusCode;
}

/** The wait before retry number `attempt` (1-based): 10 s, 20 s, 40 s, 60 s …, each ±25 %. */
export function retryDelay(attempt: number, random: number): number {
  const base = Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (attempt - 1));
  return Math.round(base * (0.75 + 0.5 * random));
}

export async function withHubRetry<T>(what: string, call: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { clock, budgetMs } = options;
  const start = clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const status = statusOf(error);
      if (status !== 429 && status !== 503) throw error;
      const wait = retryDelay(attempt, clock.random());
      const spent = clock.now() - start;
      if (spent + wait > budgetMs) {
        throw new Error(
          `IoT Hub kept answering ${String(status)} to ${what}; gave up after ${Math.round(spent / 1000)} s ` +
            `(${String(attempt)} attempts, budget ${Math.round(budgetMs / 1000)} s): ${(error as Error).message}`,
          { cause: error },
        );
      }
      await clock.sleep(wait);
    }
  }
}
