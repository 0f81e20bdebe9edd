// Who may do what on the hub double, as IoT Hub grants it. Source: learn.microsoft.com "Control access
// to IoT Hub with shared access signatures" (articles/iot-hub/authenticate-authorize-sas.md, "Access
// control and permissions"):
//   - a new hub has the policies iothubowner (all), service (ServiceConnect), device (DeviceConnect),
//     registryRead (RegistryRead) and registryReadWrite (RegistryRead + RegistryWrite);
//   - RegistryRead / RegistryReadWrite: the identity registry; ServiceConnect: twins (tags, desired,
//     reported, queries) and the service-facing endpoints; DeviceConnect: the device-facing endpoints
//     (twin notifications, reported properties);
//   - a device's symmetric key grants DeviceConnect for that device only; service tokens are hub-wide.
// Every operation declares the one right it needs where it is defined (operations.ts), so a new
// operation (configurations, queries) states its right in one place.
import { randomBytes } from "node:crypto";

export type Right = "RegistryRead" | "RegistryWrite" | "ServiceConnect" | "DeviceConnect";

export interface Policy {
  readonly name: string;
  readonly rights: readonly Right[];
  readonly primaryKey: string;
  readonly secondaryKey: string;
}

const newKey = () => randomBytes(32).toString("base64");

export const DEFAULT_POLICY_RIGHTS: Readonly<Record<string, readonly Right[]>> = {
  iothubowner: ["RegistryRead", "RegistryWrite", "ServiceConnect", "DeviceConnect"],
  service: ["ServiceConnect"],
  device: ["DeviceConnect"],
  registryRead: ["RegistryRead"],
  registryReadWrite: ["RegistryRead", "RegistryWrite"],
};

export function defaultPolicies(): Map<string, Policy> {
  return new Map(
    Object.entries(DEFAULT_POLICY_RIGHTS).map(([name, rights]) => [
      name,
      { name, rights, primaryKey: newKey(), secondaryKey: newKey() },
    ]),
  );
}

/** Who signed a request, and the resource their token is scoped to. */
export type Principal =
  | { readonly kind: "policy"; readonly policy: Policy; readonly scope: string }
  | { readonly kind: "device"; readonly deviceId: string; readonly scope: string }
  | { readonly kind: "module"; readonly deviceId: string; readonly moduleId: string; readonly scope: string };

export function principalName(p: Principal | undefined): string {
  if (!p) return "none";
  if (p.kind === "policy") return `policy:${p.policy.name}`;
  if (p.kind === "device") return `device:${p.deviceId}`;
  return `module:${p.deviceId}/${p.moduleId}`;
}

/** What an operation needs. */
export interface Requirement {
  readonly right: Right;
  /**
   * A device's own key may also do this, on its own device only. IoT Edge manages the module
   * identities under a device with that device's key: Azure/iotedge edge-agent
   * `Microsoft.Azure.Devices.Edge.Agent.IoTHub/ServiceClient.cs` builds its RegistryManager from the
   * device connection string and lists, gets, adds, updates and removes modules with it.
   */
  readonly deviceKey?: boolean;
}

/** Why `principal` may not do it on `resource` (a `host/devices/…` URI), or undefined when it may. */
export function denied(
  principal: Principal,
  need: Requirement,
  resource: string,
  target: { deviceId?: string | undefined; moduleId?: string | undefined },
): string | undefined {
  if (principal.kind === "policy") {
    if (!principal.policy.rights.includes(need.right))
      return `policy ${principal.policy.name} lacks ${need.right} (it has ${principal.policy.rights.join(", ")})`;
    return undefined;
  }
  if (principal.kind === "device") {
    if (need.right === "DeviceConnect" || need.deviceKey === true) {
      if (target.deviceId === principal.deviceId) return undefined;
      return `device ${principal.deviceId}'s key cannot act on device ${String(target.deviceId)}`;
    }
    return `a device key grants only DeviceConnect for its device; ${need.right} is needed for ${resource}`;
  }
  if (
    need.right === "DeviceConnect" &&
    target.deviceId === principal.deviceId &&
    target.moduleId === principal.moduleId
  )
    return undefined;
  return `module ${principal.deviceId}/${principal.moduleId}'s key grants only DeviceConnect for that module`;
}
