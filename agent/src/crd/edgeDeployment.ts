/** The EdgeDeployment custom resource: the in-cluster copy of one device's desired state (DESIGN §5). */
export const GROUP = "edgek8s.io";
export const VERSION = "v1";
export const KIND = "EdgeDeployment";
export const PLURAL = "edgedeployments";
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface EdgeDeploymentSpec {
  readonly deviceId: string;
  readonly hubHostName: string;
  /** The `$version` of the `$edgeAgent` desired properties this spec was written from (hub mode). */
  readonly desiredVersion?: number | undefined;
  /**
   * `$edgeAgent` `properties.desired`, as IoT Hub holds it. Absent until a deployment reaches the
   * device (a local device in a track, before the release engine writes it): the device reports 417.
   */
  readonly edgeAgent?: unknown;
  /** `$edgeHub` `properties.desired`, as IoT Hub holds it; absent in hub mode (edgeHub reads its own twin). */
  readonly edgeHub?: unknown;
}

export type ConditionType = "Ready" | "Progressing" | "Degraded";
export type RuntimeStatus = "running" | "backoff" | "failed" | "stopped" | "unknown" | "unhealthy";

export interface Condition {
  readonly type: ConditionType;
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration: number;
}

export interface ModuleStatus {
  readonly name: string;
  readonly runtimeStatus: RuntimeStatus;
  readonly statusDescription?: string;
  readonly exitCode?: number;
  readonly restartCount: number;
  readonly lastStartTimeUtc?: string;
  readonly lastExitTimeUtc?: string;
  readonly lastRestartTimeUtc?: string;
  readonly version?: string;
}

/**
 * Whether the device runs exactly the desired version it was sent (status/readiness.ts); reported to
 * IoT Hub as `properties.reported.edgek8s`, read by the rollout's gates.
 */
export interface Readiness {
  /** Every module desired running is running, every stopped one stopped, on the current template. */
  readonly ready: boolean;
  /** The desired version `ready` was computed for (`spec.desiredVersion`). */
  readonly readyVersion?: number;
  readonly modulesReady: number;
  readonly modulesTotal: number;
  /** When `ready` or `readyVersion` last changed (the rollout's grace period counts from here). */
  readonly readySince: string;
}

export interface EdgeDeploymentStatus {
  readonly observedGeneration?: number;
  readonly desiredVersion?: number;
  readonly conditions?: readonly Condition[];
  readonly modules?: Readonly<Record<string, ModuleStatus>>;
  /** `ready/total` modules, for `kubectl get`. */
  readonly modulesReady?: string;
  readonly warnings?: readonly { path: string; message: string }[];
  readonly lastDesiredStatus?: { code: number; description: string };
  readonly readiness?: Readiness;
}
