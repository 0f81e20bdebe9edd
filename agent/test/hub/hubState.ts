// What the hub double's operations see and return: the state they read and change, a request, a
// reply and IoT Hub's error shape. Kept apart from the operation tables so each table (identities and
// twins, configurations, queries) can be its own file.
import type { Requirement } from "./permissions.ts";
import type { ConfigurationRecord, DeviceRecord } from "./records.ts";
import type { HubSettings } from "./settings.ts";
import type { TwinDocument } from "./twinQuery.ts";

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  /** Response headers beyond the ones every reply has. */
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** What operations read and change. */
export interface HubState {
  readonly devices: Map<string, DeviceRecord>;
  readonly configurations: Map<string, ConfigurationRecord>;
  readonly settings: HubSettings;
  /** Updates whose changed content the hub ignored (see configurations.ts), by configuration id. */
  readonly ignoredContentChanges: string[];
  /** A module twin's (or, with moduleId "", the device twin's) desired properties changed. */
  desiredChanged(deviceId: string, moduleId: string, notification: Record<string, unknown>): void;
  /** A configuration was created, updated or deleted: the engine runs at its next tick. */
  configurationsChanged(): void;
  /** Twin documents as the query index shows them now (behind the twins when the lag switch is on). */
  queryDocuments(collection: "devices" | "devices.modules"): readonly TwinDocument[];
}

export interface OperationRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly body: Record<string, unknown> | undefined;
  readonly ifMatch: string | undefined;
  /** The URL's query string (`top`, `api-version`). */
  readonly query: URLSearchParams;
  /** Request headers, lower-cased names (`x-ms-continuation`, `x-ms-max-item-count`). */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/** Status, body and, when the operation sets any, extra response headers. */
export type Reply = [status: number, body: unknown, headers?: Readonly<Record<string, string>>];

/**
 * The throttle an operation counts against (iot-hub-devguide-quotas-throttling.md, "Operation
 * throttles"): identity registry operations, "Configurations and edge deployments (create, update,
 * list, delete)", or "Queries".
 */
export type ThrottleKind = "registry" | "configurations" | "queries";

export interface Operation extends Requirement {
  readonly name: string;
  readonly method: string;
  /** `/devices/{deviceId}/modules/{moduleId}`: `{…}` segments become params. */
  readonly path: string;
  /** Counts against the identity registry throttle (100/min per S1 unit). */
  readonly registry: boolean;
  /** Counts against another throttle than the identity registry's. */
  readonly throttle?: Exclude<ThrottleKind, "registry">;
  handle(hub: HubState, request: OperationRequest): Reply;
}
