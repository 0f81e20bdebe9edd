// The hub double's HTTPS operations, one entry each, with the right each needs (permissions.ts) and
// the throttle it counts against. A new operation is one more entry; configurations
// (configurations.ts) and twin queries (queries.ts) keep their entries beside their behaviour.
// Sources, per behaviour:
//   - registry and twin REST paths and bodies: learn.microsoft.com/rest/api/iothub/service/devices and
//     .../modules; the azure-iothub SDK's Registry (src/registry.ts) that sends them;
//   - "Identity registry operations (create, retrieve, list, update, delete)" are the throttled registry
//     calls (articles/iot-hub/iot-hub-devguide-quotas-throttling.md);
//   - twin reads and updates need ServiceConnect (iot-hub-devguide-device-twins.md, "Back-end operations");
//   - optimistic concurrency: an If-Match etag that does not match answers 412 (device twins doc,
//     "Optimistic concurrency"; azure-iot-sdk-csharp HttpRegistryManager maps 412 to
//     PreconditionFailedException);
//   - create on an existing id answers 409 (DeviceAlreadyExists / ModuleAlreadyExistsOnDevice);
//   - "under each device identity, you can create up to 50 module identities"
//     (iot-hub-devguide-module-twins.md); the 51st answers 413 TooManyModulesOnDevice (error code
//     413003; azure-iot-sdk-csharp HttpRegistryManager maps 413 on module PUT to
//     TooManyModulesOnDeviceException);
//   - an IoT Edge device comes with `$edgeAgent` and `$edgeHub` identities without keys (records.ts).
import { CONFIGURATION_OPERATIONS } from "./configurations.ts";
import { HttpError, type HubState, type Operation, type OperationRequest, type Reply } from "./hubState.ts";
import { QUERY_OPERATIONS } from "./queries.ts";
import {
  type DeviceRecord,
  type ModuleRecord,
  authenticationFrom,
  deviceJson,
  moduleJson,
  newEtag,
  newGenerationId,
  newTwin,
  twinJson,
} from "./records.ts";
import { applyPatch, sectionProblems } from "./twinRules.ts";

export { HttpError } from "./hubState.ts";
export type { HubState, Operation, OperationRequest, Reply } from "./hubState.ts";

export const MAX_MODULES_PER_DEVICE = 50;
const SYSTEM_MODULES = ["$edgeAgent", "$edgeHub"];

function device(hub: HubState, id: string | undefined): DeviceRecord {
  const found = hub.devices.get(id ?? "");
  if (!found) throw new HttpError(404, "DeviceNotFound", `device ${String(id)} not found`);
  return found;
}

function module(d: DeviceRecord, id: string | undefined): ModuleRecord {
  const found = d.modules.get(id ?? "");
  if (!found) throw new HttpError(404, "ModuleNotFound", `module ${d.deviceId}/${String(id)} not found`);
  return found;
}

/** If-Match: `*` or the current etag, quoted or not. */
function checkEtag(ifMatch: string | undefined, etag: string): void {
  if (ifMatch === undefined) return;
  const given = ifMatch.trim().replace(/^"(.*)"$/, "$1");
  if (given !== "*" && given !== etag)
    throw new HttpError(412, "PreconditionFailed", `etag ${given} does not match the current ${etag}`);
}

function body(request: OperationRequest): Record<string, unknown> {
  if (!request.body) throw new HttpError(400, "ArgumentInvalid", "the request needs a JSON body");
  return request.body;
}

function putDevice(hub: HubState, request: OperationRequest): Reply {
  const id = request.params["deviceId"] ?? "";
  const input = body(request);
  if (input["deviceId"] !== id) throw new HttpError(400, "ArgumentInvalid", "body deviceId must match the path");
  const existing = hub.devices.get(id);
  if (existing && request.ifMatch === undefined)
    throw new HttpError(409, "DeviceAlreadyExists", `a device with id ${id} already exists`);
  if (!existing && request.ifMatch !== undefined) throw new HttpError(404, "DeviceNotFound", `device ${id} not found`);
  if (existing) checkEtag(request.ifMatch, existing.etag);
  const statusReason = input["statusReason"];
  if (typeof statusReason === "string" && statusReason.length > 128)
    throw new HttpError(400, "ArgumentInvalid", "statusReason is limited to 128 characters");
  const capabilities = (input["capabilities"] as { iotEdge?: boolean } | undefined) ?? {};
  const record: DeviceRecord = {
    deviceId: id,
    generationId: existing?.generationId ?? newGenerationId(),
    etag: newEtag(),
    status: input["status"] === "disabled" ? "disabled" : "enabled",
    ...(typeof statusReason === "string" ? { statusReason } : {}),
    capabilities: { iotEdge: capabilities.iotEdge === true },
    authentication: authenticationFrom(input["authentication"]),
    modules: existing?.modules ?? new Map<string, ModuleRecord>(),
    twin: existing?.twin ?? newTwin(),
  };
  hub.devices.set(id, record);
  if (record.capabilities.iotEdge) {
    for (const moduleId of SYSTEM_MODULES) {
      if (record.modules.has(moduleId)) continue;
      record.modules.set(moduleId, keylessModule(id, moduleId));
    }
  }
  return [200, deviceJson(record)];
}

export function keylessModule(deviceId: string, moduleId: string): ModuleRecord {
  return {
    moduleId,
    deviceId,
    generationId: newGenerationId(),
    etag: newEtag(),
    authentication: authenticationFrom(undefined, true),
    twin: newTwin(),
  };
}

function putModule(hub: HubState, request: OperationRequest): Reply {
  const d = device(hub, request.params["deviceId"]);
  const id = request.params["moduleId"] ?? "";
  const input = body(request);
  if (input["moduleId"] !== id) throw new HttpError(400, "ArgumentInvalid", "body moduleId must match the path");
  const existing = d.modules.get(id);
  if (existing && request.ifMatch === undefined)
    throw new HttpError(409, "ModuleAlreadyExistsOnDevice", `module ${id} already exists on ${d.deviceId}`);
  if (!existing && request.ifMatch !== undefined) throw new HttpError(404, "ModuleNotFound", `module ${id} not found`);
  if (existing) checkEtag(request.ifMatch, existing.etag);
  if (!existing && d.modules.size >= MAX_MODULES_PER_DEVICE)
    throw new HttpError(413, "TooManyModulesOnDevice", `device ${d.deviceId} already has 50 module identities`);
  const record: ModuleRecord = {
    moduleId: id,
    deviceId: d.deviceId,
    generationId: existing?.generationId ?? newGenerationId(),
    etag: newEtag(),
    ...(typeof input["managedBy"] === "string" ? { managedBy: input["managedBy"] } : {}),
    authentication: authenticationFrom(input["authentication"]),
    twin: existing?.twin ?? newTwin(),
  };
  d.modules.set(id, record);
  return [200, moduleJson(record)];
}

/** PATCH (partial update) or PUT (replace) of a twin's tags and desired properties. */
function writeTwin(replace: boolean) {
  return (hub: HubState, request: OperationRequest): Reply => {
    const d = device(hub, request.params["deviceId"]);
    const moduleId = request.params["moduleId"];
    const m = moduleId !== undefined ? module(d, moduleId) : undefined;
    const twin = m?.twin ?? d.twin;
    checkEtag(request.ifMatch, twin.etag);
    const input = body(request);
    const properties = (input["properties"] ?? {}) as { desired?: Record<string, unknown>; reported?: unknown };
    if (properties.reported !== undefined)
      throw new HttpError(400, "ArgumentInvalid", "reported properties are written by the device only");
    const tagsIn = input["tags"] as Record<string, unknown> | undefined;
    const tags = tagsIn === undefined ? twin.tags : replace ? tagsIn : applyPatch(twin.tags, tagsIn);
    const desiredIn = properties.desired;
    const desired = desiredIn === undefined ? undefined : replace ? desiredIn : applyPatch(twin.desired, desiredIn);
    const problems = [...sectionProblems("tags", tags), ...(desired ? sectionProblems("desired", desired) : [])];
    if (problems.length > 0) throw new HttpError(400, "ArgumentInvalid", problems.join("; "));
    twin.tags = tags;
    if (desired && desiredIn) {
      const version = twin.desired.$version + 1;
      twin.desired = { ...desired, $version: version };
      hub.desiredChanged(d.deviceId, moduleId ?? "", { ...desiredIn, $version: version });
    }
    twin.etag = newEtag();
    return [200, twinJson(d, m)];
  };
}

export const OPERATIONS: readonly Operation[] = [
  {
    name: "getDevice",
    method: "GET",
    path: "/devices/{deviceId}",
    right: "RegistryRead",
    registry: true,
    handle: (hub, r) => [200, deviceJson(device(hub, r.params["deviceId"]))],
  },
  {
    name: "putDevice",
    method: "PUT",
    path: "/devices/{deviceId}",
    right: "RegistryWrite",
    registry: true,
    handle: putDevice,
  },
  {
    name: "deleteDevice",
    method: "DELETE",
    path: "/devices/{deviceId}",
    right: "RegistryWrite",
    registry: true,
    handle: (hub, r) => {
      const d = device(hub, r.params["deviceId"]);
      checkEtag(r.ifMatch, d.etag);
      hub.devices.delete(d.deviceId);
      return [204, undefined];
    },
  },
  {
    name: "listModules",
    method: "GET",
    path: "/devices/{deviceId}/modules",
    right: "RegistryRead",
    deviceKey: true,
    registry: true,
    handle: (hub, r) => [200, [...device(hub, r.params["deviceId"]).modules.values()].map(moduleJson)],
  },
  {
    name: "getModule",
    method: "GET",
    path: "/devices/{deviceId}/modules/{moduleId}",
    right: "RegistryRead",
    deviceKey: true,
    registry: true,
    handle: (hub, r) => [200, moduleJson(module(device(hub, r.params["deviceId"]), r.params["moduleId"]))],
  },
  {
    name: "putModule",
    method: "PUT",
    path: "/devices/{deviceId}/modules/{moduleId}",
    right: "RegistryWrite",
    deviceKey: true,
    registry: true,
    handle: putModule,
  },
  {
    name: "deleteModule",
    method: "DELETE",
    path: "/devices/{deviceId}/modules/{moduleId}",
    right: "RegistryWrite",
    deviceKey: true,
    registry: true,
    handle: (hub, r) => {
      const d = device(hub, r.params["deviceId"]);
      const m = module(d, r.params["moduleId"]);
      checkEtag(r.ifMatch, m.etag);
      d.modules.delete(m.moduleId);
      return [204, undefined];
    },
  },
  {
    name: "getTwin",
    method: "GET",
    path: "/twins/{deviceId}",
    right: "ServiceConnect",
    registry: false,
    handle: (hub, r) => [200, twinJson(device(hub, r.params["deviceId"]))],
  },
  {
    name: "updateTwin",
    method: "PATCH",
    path: "/twins/{deviceId}",
    right: "ServiceConnect",
    registry: false,
    handle: writeTwin(false),
  },
  {
    name: "replaceTwin",
    method: "PUT",
    path: "/twins/{deviceId}",
    right: "ServiceConnect",
    registry: false,
    handle: writeTwin(true),
  },
  {
    name: "getModuleTwin",
    method: "GET",
    path: "/twins/{deviceId}/modules/{moduleId}",
    right: "ServiceConnect",
    registry: false,
    handle: (hub, r) => {
      const d = device(hub, r.params["deviceId"]);
      return [200, twinJson(d, module(d, r.params["moduleId"]))];
    },
  },
  {
    name: "updateModuleTwin",
    method: "PATCH",
    path: "/twins/{deviceId}/modules/{moduleId}",
    right: "ServiceConnect",
    registry: false,
    handle: writeTwin(false),
  },
  {
    name: "replaceModuleTwin",
    method: "PUT",
    path: "/twins/{deviceId}/modules/{moduleId}",
    right: "ServiceConnect",
    registry: false,
    handle: writeTwin(true),
  },
  ...CONFIGURATION_OPERATIONS,
  ...QUERY_OPERATIONS,
];

/** The operation a request names, with its decoded path parameters. */
export function match(
  method: string,
  path: string,
): { operation: Operation; params: Record<string, string> } | undefined {
  const parts = path.split("/").filter(Boolean);
  for (const operation of OPERATIONS) {
    if (operation.method !== method) continue;
    const template = operation.path.split("/").filter(Boolean);
    if (template.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = template.every((segment, i) => {
      const part = parts[i] ?? "";
      if (segment.startsWith("{")) {
        params[segment.slice(1, -1)] = decodeURIComponent(part);
        return true;
      }
      return segment === part;
    });
    if (ok) return { operation, params };
  }
  return undefined;
}
