// What the hub double stores: device and module identities with their twins, and the JSON IoT Hub
// returns for them. Shapes from the REST reference (learn.microsoft.com/rest/api/iothub/service/devices,
// `Device`, `Module`, `Twin`) and the azure-iothub SDK's `Device` / `Module` types.
import { randomBytes, randomUUID } from "node:crypto";

export interface SymmetricKey {
  primaryKey: string | null;
  secondaryKey: string | null;
}

/**
 * `type: "none"` with null keys is how a module identity looks when IoT Hub made it without
 * credentials: the `$edgeAgent` and `$edgeHub` identities of a new IoT Edge device, and the modules
 * `applyConfigurationContent` creates. Source: Azure/iotedge edge-agent
 * `Microsoft.Azure.Devices.Edge.Agent.IoTHub/ModuleIdentityLifecycleManager.cs` (identities "created,
 * but the auth keys are not set" are updated with `AuthenticationType.Sas`; "The service creates the
 * $edgeAgent and $edgeHub twin when it creates the Edge Device").
 */
export interface Authentication {
  type: "sas" | "none";
  symmetricKey: SymmetricKey;
}

export interface TwinRecord {
  etag: string;
  tags: Record<string, unknown>;
  desired: Record<string, unknown> & { $version: number };
  reported: Record<string, unknown> & { $version: number };
  /**
   * On an `$edgeAgent` module twin, the deployments that target the device: `configurations.<id>.status`
   * is `Applied` (merged into what the device is sent) or `Targeted` (matched but outranked)
   * (Azure/iotedge doc/reported_states_during_deployment.md).
   */
  configurations?: Record<string, { status: "Applied" | "Targeted" }>;
}

/**
 * An automatic device or module configuration (an IoT Edge deployment when its content is
 * `modulesContent`). Fields from the REST reference (learn.microsoft.com/rest/api/iothub/service/configuration,
 * `Configuration`) and azure-iothub `src/configuration.ts`.
 */
export interface ConfigurationRecord {
  readonly id: string;
  schemaVersion: string;
  labels: Record<string, string>;
  /** `{modulesContent}`, `{moduleContent}` or `{deviceContent}`; never changed after creation. */
  readonly content: Readonly<Record<string, unknown>>;
  targetCondition: string;
  readonly createdTimeUtc: string;
  lastUpdatedTimeUtc: string;
  priority: number;
  /** Custom metric queries by name. */
  metrics: Record<string, string>;
  metricResults: Record<string, number>;
  systemMetricResults: Record<string, number>;
  etag: string;
}

export interface ModuleRecord {
  moduleId: string;
  deviceId: string;
  generationId: string;
  etag: string;
  managedBy?: string;
  authentication: Authentication;
  twin: TwinRecord;
}

export interface DeviceRecord {
  deviceId: string;
  generationId: string;
  etag: string;
  status: "enabled" | "disabled";
  statusReason?: string;
  capabilities: { iotEdge: boolean };
  authentication: Authentication;
  modules: Map<string, ModuleRecord>;
  twin: TwinRecord;
}

export const newKey = (): string => randomBytes(32).toString("base64");
export const newEtag = (): string => Buffer.from(randomUUID()).toString("base64");
let generation = 0;
/** Generation ids tell apart two identities that had the same id at different times. */
export const newGenerationId = (): string => `${String(Date.now())}${String(++generation).padStart(4, "0")}`;

export function newTwin(): TwinRecord {
  return { etag: newEtag(), tags: {}, desired: { $version: 1 }, reported: { $version: 1 } };
}

/** SAS keys as given, or made by the hub when the caller left them empty (what `create` with "" keys asks). */
export function authenticationFrom(given: unknown, keyless = false): Authentication {
  const auth = given as { type?: string; symmetricKey?: { primaryKey?: string; secondaryKey?: string } } | undefined;
  if (keyless || auth?.type === "none") return { type: "none", symmetricKey: { primaryKey: null, secondaryKey: null } };
  const k = auth?.symmetricKey;
  return {
    type: "sas",
    symmetricKey: { primaryKey: k?.primaryKey || newKey(), secondaryKey: k?.secondaryKey || newKey() },
  };
}

export function keysOf(auth: Authentication): string[] {
  return [auth.symmetricKey.primaryKey, auth.symmetricKey.secondaryKey].filter((k): k is string => !!k);
}

export function deviceJson(d: DeviceRecord): Record<string, unknown> {
  return {
    deviceId: d.deviceId,
    generationId: d.generationId,
    etag: d.etag,
    status: d.status,
    ...(d.statusReason !== undefined ? { statusReason: d.statusReason } : {}),
    connectionState: "Disconnected",
    capabilities: d.capabilities,
    authentication: d.authentication,
  };
}

export function moduleJson(m: ModuleRecord): Record<string, unknown> {
  return {
    moduleId: m.moduleId,
    deviceId: m.deviceId,
    generationId: m.generationId,
    etag: m.etag,
    ...(m.managedBy !== undefined ? { managedBy: m.managedBy } : {}),
    connectionState: "Disconnected",
    authentication: m.authentication,
  };
}

export function twinJson(d: DeviceRecord, m?: ModuleRecord): Record<string, unknown> {
  const twin = m?.twin ?? d.twin;
  return {
    deviceId: d.deviceId,
    ...(m ? { moduleId: m.moduleId } : {}),
    etag: twin.etag,
    status: d.status,
    tags: twin.tags,
    ...(m ? {} : { capabilities: d.capabilities }),
    properties: { desired: twin.desired, reported: twin.reported },
    ...(twin.configurations ? { configurations: twin.configurations } : {}),
  };
}

let lastCreatedMs = 0;
/**
 * Creation times strictly increase, so "the most recently created deployment" wins a priority tie
 * (module-deployment-monitoring.md) even for two created in the same millisecond.
 */
export function newCreatedTime(nowMs = Date.now()): string {
  lastCreatedMs = Math.max(nowMs, lastCreatedMs + 1);
  return new Date(lastCreatedMs).toISOString();
}
