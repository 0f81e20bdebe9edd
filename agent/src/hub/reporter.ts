import type { Twin } from "azure-iot-device";
import { isTwinRefusal, withTimeout } from "./retry.ts";
import { diffPatch } from "./twin.ts";
import { twinSize } from "./reported.ts";
import type { Logger } from "../runtime/log.ts";

type Json = Record<string, unknown>;

/** `$version` and the SDK's `update` function are not reported content. */
function content(doc: Json | undefined): Json {
  return Object.fromEntries(Object.entries(doc ?? {}).filter(([k]) => !k.startsWith("$") && k !== "update"));
}

function withoutHeartbeat(doc: Json): string {
  return JSON.stringify({ ...doc, heartbeat: undefined });
}

/**
 * Sends reported properties as diffs against what IoT Hub holds. A patch IoT Hub refuses (size, key
 * rules: retrying it unchanged cannot help) is logged once as an error and not sent again until the
 * report changes; meanwhile only the heartbeat moves, so the device is not taken for silent. Any
 * other failure (no connection, a time-out, throttling) is thrown for the caller to retry.
 */
export class ReportedSender {
  private readonly log: Logger;
  private sent: Json | undefined;
  private refused: Json | undefined;

  constructor(log: Logger) {
    this.log = log;
  }

  /** After a (re)connect: what IoT Hub holds is the base for the next diff. */
  reset(reported: Json): void {
    this.sent = content(reported);
    this.refused = undefined;
  }

  /** What IoT Hub holds as far as this sender knows. */
  get last(): Json | undefined {
    return this.sent;
  }

  async send(next: Json, update: (patch: Json) => Promise<void>): Promise<void> {
    const base = this.sent ?? {};
    if (this.refused && withoutHeartbeat(this.refused) === withoutHeartbeat(next)) {
      if (next["heartbeat"] === base["heartbeat"]) return;
      await update({ heartbeat: next["heartbeat"] });
      this.sent = { ...base, heartbeat: next["heartbeat"] };
      return;
    }
    const patch = diffPatch(base, next);
    if (Object.keys(patch).length === 0) return;
    try {
      await update(patch);
    } catch (error) {
      if (!isTwinRefusal(error)) throw error;
      this.refused = next;
      this.log.error("IoT Hub refused the reported properties; they are not sent again until they change", {
        error: (error as Error).message,
        bytes: twinSize(next),
      });
      return;
    }
    this.sent = next;
    this.refused = undefined;
  }
}

/** A reported-properties patch sent through the device SDK's twin, time-boxed. */
export function sdkReportedUpdate(twin: Twin, timeoutMs: number): (patch: Json) => Promise<void> {
  const reported = twin.properties.reported as unknown as {
    update(patch: object, done: (error?: Error) => void): void;
  };
  return (patch) =>
    withTimeout(
      new Promise<void>((resolve, reject) => {
        reported.update(patch, (error?: Error) => {
          if (error) reject(error);
          else resolve();
        });
      }),
      timeoutMs,
      "reporting to IoT Hub",
    );
}
