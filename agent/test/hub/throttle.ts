// IoT Hub's operation throttles as the double applies them: a per-minute window per throttle, off
// unless a test sets a limit, and injected refusals a test asks for. Sources:
//   - limits per throttle and the 429: iot-hub-devguide-quotas-throttling.md ("If you do hit the limit,
//     IoT Hub responds with error code 429"; identity registry 100/min/unit; configurations and edge
//     deployments 20/min/unit on every tier; queries 20/min/unit on S1). Traffic shaping (queueing a
//     burst before refusing) is not modelled: the double refuses at once;
//   - the answer to a throttled configuration write, [3p, ROLLOUT.md H15, captured from a live hub]:
//     429 with `iothub-errorcode: ThrottlingBacklogTimeout`, no `Retry-After`, `connection: close`, and
//     the body "ErrorCode:ThrottlingBacklogTimeout;The request has been throttled. Wait 10 seconds and
//     try again. Operation type: ConfigurationWrite". For the other kinds only the form is known; the
//     operation type named is the double's guess.
import { HttpError, type ThrottleKind } from "./hubState.ts";

const OPERATION_TYPE: Readonly<Record<ThrottleKind, (method: string) => string>> = {
  registry: () => "RegistryOperation",
  configurations: (method) => (method === "GET" ? "ConfigurationRead" : "ConfigurationWrite"),
  queries: () => "Query",
};

export function throttledError(kind: ThrottleKind, method: string): HttpError {
  if (kind === "registry")
    return new HttpError(429, "ThrottlingException", "Identity registry operations are throttled; back off and retry");
  return new HttpError(
    429,
    "ThrottlingBacklogTimeout",
    `The request has been throttled. Wait 10 seconds and try again. Operation type: ${OPERATION_TYPE[kind](method)}`,
    { connection: "close" },
  );
}

export class Throttles {
  /** Calls a minute allowed per throttle; a throttle without a limit never refuses on its own. */
  readonly perMinute: Partial<Record<ThrottleKind, number>> = {};
  private readonly calls: Record<ThrottleKind, number[]> = { registry: [], configurations: [], queries: [] };
  private readonly injected: Record<ThrottleKind, number> = { registry: 0, configurations: 0, queries: 0 };
  /** Every 429 answered, by kind. */
  readonly refused: ThrottleKind[] = [];

  /** The next `count` calls of this kind are answered 429, whatever the rate (a "429 storm"). */
  inject(kind: ThrottleKind, count: number): void {
    this.injected[kind] += count;
  }

  /** Counts a call; the 429 to answer when it is over the limit, else undefined. */
  check(kind: ThrottleKind, method: string, nowMs: number): HttpError | undefined {
    if (this.injected[kind] > 0) {
      this.injected[kind]--;
      this.refused.push(kind);
      return throttledError(kind, method);
    }
    const limit = this.perMinute[kind];
    if (limit === undefined) return undefined;
    const window = this.calls[kind];
    while (window.length > 0 && (window[0] ?? 0) <= nowMs - 60_000) window.shift();
    if (window.length >= limit) {
      this.refused.push(kind);
      return throttledError(kind, method);
    }
    window.push(nowMs);
    return undefined;
  }
}
