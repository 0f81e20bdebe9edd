/**
 * Time boxes, backoff and error classes for the hub bridge's calls to IoT Hub. IoT Hub answers a
 * throttled call with 429 "and the client should back-off and retry" (learn.microsoft.com, "IoT Hub
 * quotas and throttling"); 5xx and no answer at all are transient too; any other 4xx is IoT Hub
 * refusing the request itself, which retrying unchanged cannot fix.
 */

export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new TimeoutError(`${what} took longer than ${String(ms / 1000)} s`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The HTTP status of a failed azure-iothub call, if IoT Hub answered at all. */
export function statusOf(error: unknown): number | undefined {
  return (error as { response?: { statusCode?: number } } | undefined)?.response?.statusCode;
}

/**
 * Worth retrying as it is: no answer, 408 (the server timed out waiting for the request: "the client
 * MAY repeat that request", RFC 9110 §15.5.9), 429 or a server error. A TypeError without an answer is
 * edgek8s's own bug, not the network's: retrying it cannot help. The one rule for the hub bridge and
 * the rollout (rollout/hubCalls.ts).
 */
export function isTransient(error: unknown): boolean {
  const status = statusOf(error);
  if (status === undefined) return !(error instanceof TypeError);
  return status === 408 || status === 429 || status >= 500;
}

/**
 * IoT Hub refused a twin request (the device SDK turns a twin response carrying an `errorCode` into a
 * plain Error with IoT Hub's message: azure-iot-sdk-node mqtt_twin_client, PR #590), other than
 * throttling. Transport failures and time-outs have their own error classes.
 */
export function isTwinRefusal(error: unknown): boolean {
  return error instanceof Error && error.constructor === Error && !/throttl|too many requests/i.test(error.message);
}

/** The device SDK's error for a refused CONNECT or a 401 (azure-iot-common `errors.UnauthorizedError`). */
export function isUnauthorized(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === "UnauthorizedError" || statusOf(error) === 401;
}

/** Exponential backoff between `min` and `max` milliseconds. */
export class Backoff {
  private readonly min: number;
  private readonly max: number;
  private current: number;

  constructor(min: number, max: number) {
    this.min = min;
    this.max = max;
    this.current = min;
  }

  /** The delay to wait now; the following one doubles, up to `max`. */
  next(): number {
    const delay = this.current;
    this.current = Math.min(this.current * 2, this.max);
    return delay;
  }

  reset(): void {
    this.current = this.min;
  }
}
