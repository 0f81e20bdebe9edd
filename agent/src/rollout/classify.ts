import type { Gates } from "./plan.ts";

/**
 * Gate classification of one device in a ring (ROLLOUT.md §B4, step 3). Every device the candidate
 * is applied on is exactly one of succeeded, failed, unreachable or pending — judged on the version
 * the device was sent, never on an older report (the stale-health hole of Argo CD #29410), and on
 * whether its modules actually run (IoT Hub's own "Reporting Success" counts a 200 with crashing
 * modules as success).
 */
export interface DeviceReport {
  readonly deviceId: string;
  /** The configuration IoT Hub reports Applied on the device's `$edgeAgent` (`configurations.<id>.status`). */
  readonly appliedConfiguration: string | undefined;
  /** `properties.desired.$version` of `$edgeAgent`. */
  readonly desiredVersion: number;
  /** `properties.reported.lastDesiredVersion`. */
  readonly lastDesiredVersion: number | undefined;
  /** `properties.reported.lastDesiredStatus.code`. */
  readonly code: number | undefined;
  readonly description?: string;
  /** `properties.reported.edgek8s`: readiness computed by the agent for exactly `readyVersion`. */
  readonly readyVersion: number | undefined;
  readonly ready: boolean | undefined;
  /** When `ready` last changed (ISO 8601), for the grace period. */
  readonly readySince: string | undefined;
  /** `properties.reported.heartbeat` (ISO 8601). */
  readonly heartbeat: string | undefined;
}

export type DeviceClass = "succeeded" | "failed" | "unreachable" | "pending";

export interface Classified {
  readonly deviceId: string;
  readonly class: DeviceClass;
  /** Why, for the failing-devices table (the device's own description where it has one). */
  readonly reason: string;
}

/** 406: "Unknown: not connected, or the agent shut down" (Azure/iotedge `doc/reported_states_during_deployment.md`). */
const UNKNOWN = 406;

export function classifyDevice(report: DeviceReport, release: string, gates: Gates, now: Date): Classified {
  const of = (cls: DeviceClass, reason: string): Classified => ({ deviceId: report.deviceId, class: cls, reason });
  const heartbeatAge = report.heartbeat === undefined ? Infinity : now.getTime() - Date.parse(report.heartbeat);
  if (!(heartbeatAge <= gates.staleAfterMs)) {
    return of("unreachable", report.heartbeat === undefined ? "no heartbeat" : `last heartbeat ${report.heartbeat}`);
  }
  if (report.code === UNKNOWN) return of("unreachable", "406: the device's agent is not connected");
  if (report.appliedConfiguration !== release) return of("pending", "the release is not applied on the device yet");
  const versionMatched = report.lastDesiredVersion === report.desiredVersion;
  if (!versionMatched)
    return of("pending", `acted on desired version ${report.lastDesiredVersion ?? "none"} of ${report.desiredVersion}`);
  if (report.code !== 200) {
    return of("failed", `${report.code ?? "no code"}${report.description ? `: ${report.description}` : ""}`);
  }
  if (report.readyVersion !== report.desiredVersion) return of("pending", "modules not yet reported for this version");
  if (report.ready === true) return of("succeeded", "every module is as desired");
  if (report.ready !== false) return of("pending", "readiness not reported");
  const notReadyFor = report.readySince === undefined ? 0 : now.getTime() - Date.parse(report.readySince);
  return notReadyFor > gates.readyGraceMs
    ? of(
        "failed",
        `modules not ready for ${Math.round(notReadyFor / 1000)} s${report.description ? `: ${report.description}` : ""}`,
      )
    : of("pending", "modules starting");
}

export interface RingTally {
  readonly expected: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly unreachable: number;
  readonly pending: number;
  readonly failing: readonly Classified[];
  readonly unreachableDevices: readonly string[];
}

export function tally(expected: number, classified: readonly Classified[]): RingTally {
  const count = (cls: DeviceClass) => classified.filter((c) => c.class === cls).length;
  return {
    expected,
    succeeded: count("succeeded"),
    failed: count("failed"),
    unreachable: count("unreachable"),
    pending: Math.max(0, expected - count("succeeded") - count("failed") - count("unreachable")),
    failing: classified.filter((c) => c.class === "failed"),
    unreachableDevices: classified.filter((c) => c.class === "unreachable").map((c) => c.deviceId),
  };
}

export type Verdict = "abort" | "pass" | "tooManyUnreachable" | "wait";

/**
 * Abort when failures pass the ring's `maxFailures`, or the failure share passes `maxFailurePercent`
 * once `minExecuted` devices have reported; pass when enough reachable devices succeeded and few
 * enough are unreachable; unreachable devices neither block nor fail a ring up to that limit.
 */
export function verdict(t: RingTally, gates: Gates, maxFailures: number | undefined): Verdict {
  const executed = t.succeeded + t.failed;
  if (maxFailures !== undefined && t.failed > maxFailures) return "abort";
  if (executed >= gates.minExecuted && executed > 0 && (100 * t.failed) / executed > gates.maxFailurePercent)
    return "abort";
  const reachable = t.expected - t.unreachable;
  const enough = t.succeeded >= Math.ceil((gates.successPercent / 100) * reachable);
  if (!enough) return "wait";
  return t.unreachable > (gates.maxUnreachablePercent / 100) * t.expected ? "tooManyUnreachable" : "pass";
}
