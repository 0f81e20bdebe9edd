import { createHash } from "node:crypto";
import type { Registry } from "azure-iothub";
import { type DeviceCredentials, moduleConnectionString } from "./connectionString.ts";
import { statusOf } from "./retry.ts";
import type { KubeObject } from "../kube/objects.ts";
import { k8sName } from "../naming/k8sName.ts";
import { GATEWAY_HOST_NAME, IDENTITY_KEYS, identitySecretName } from "../translate/identity.ts";
import { ANNOTATION, LABEL } from "../translate/labels.ts";

/**
 * Module identities under the device, managed with the device's own key (DESIGN §8: it may create,
 * read and delete the module identities under it), and the Secrets that hand them to the modules.
 * IoT Edge's own rules, from Azure/iotedge edge-agent `ModuleIdentityLifecycleManager.cs` and
 * `Agent.Core/Constants.cs`:
 * - identities it creates are marked `managedBy: "IotEdge"`, and only identities so marked (compared
 *   case-insensitively) are removed when their module goes;
 * - an identity IoT Hub made without keys (`$edgeAgent` and `$edgeHub` of a new IoT Edge device, the
 *   modules of `applyConfigurationContentOnDevice`) is updated to SAS so that IoT Hub makes its keys.
 */

export const BRIDGE_MANAGER = "edgek8s-hub-bridge";
export const EDGE_AGENT_MODULE_ID = "$edgeAgent";
export const SYSTEM_MODULE_IDS = ["$edgeAgent", "$edgeHub"] as const;
export const MANAGED_BY_EDGE = "IotEdge";
/** Secret key: which device credentials the identity was provisioned with (a hash, never the key). */
export const PROVISIONED_WITH_KEY = "provisionedWith";

export interface ModuleIdentity {
  readonly moduleId: string;
  readonly key: string;
  readonly generationId: string;
}

/** An identity as its Secret holds it. */
export interface StoredIdentity extends ModuleIdentity {
  readonly hostName: string;
  readonly deviceId: string;
  readonly provisionedWith: string;
}

export interface ModuleBody {
  moduleId?: string;
  deviceId?: string;
  generationId?: string;
  etag?: string;
  managedBy?: string;
  authentication?: { type?: string; symmetricKey?: { primaryKey?: string | null; secondaryKey?: string | null } };
}

export function isManagedByEdge(module: Pick<ModuleBody, "managedBy">): boolean {
  return module.managedBy?.toLowerCase() === MANAGED_BY_EDGE.toLowerCase();
}

export function isSystemModule(moduleId: string): boolean {
  return SYSTEM_MODULE_IDS.includes(moduleId as never);
}

/** A short hash naming the device credentials: a re-created device or a rotated key changes it. */
export function credentialsFingerprint(credentials: DeviceCredentials): string {
  return createHash("sha256")
    .update(`${credentials.hostName}\n${credentials.deviceId}\n${credentials.sharedAccessKey}`)
    .digest("hex")
    .slice(0, 16);
}

/** The stored identity belongs to these credentials: same hub, same device, provisioned with this key. */
export function isCurrent(stored: StoredIdentity, credentials: DeviceCredentials): boolean {
  return (
    stored.hostName === credentials.hostName &&
    stored.deviceId === credentials.deviceId &&
    stored.provisionedWith === credentialsFingerprint(credentials)
  );
}

function identityOf(moduleId: string, body: ModuleBody | undefined): ModuleIdentity | undefined {
  const key = body?.authentication?.symmetricKey?.primaryKey;
  if (body?.authentication?.type === "none" || !key) return undefined;
  return { moduleId, key, generationId: body.generationId ?? "" };
}

/**
 * The module identity with its key: `existing` (as IoT Hub listed it) when it has one, else IoT Hub
 * is asked to make keys (an update, with the etag it was read with) or the identity (a create).
 */
export async function provisionIdentity(
  registry: Registry,
  deviceId: string,
  moduleId: string,
  existing: ModuleBody | undefined,
): Promise<ModuleIdentity> {
  const ready = identityOf(moduleId, existing);
  if (ready) return ready;
  const authentication = { type: "sas", symmetricKey: { primaryKey: "", secondaryKey: "" } };
  const result = existing
    ? await registry.updateModule({ ...existing, moduleId, deviceId, authentication })
    : await registry.addModule({ moduleId, deviceId, managedBy: MANAGED_BY_EDGE, authentication });
  const made = identityOf(moduleId, result.responseBody as ModuleBody);
  if (!made) throw new Error(`IoT Hub returned no key for module identity ${moduleId}`);
  return made;
}

/** Reads one module identity; undefined when it does not exist. */
export async function readIdentity(
  registry: Registry,
  deviceId: string,
  moduleId: string,
): Promise<ModuleBody | undefined> {
  try {
    return (await registry.getModule(deviceId, moduleId)).responseBody;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

export async function removeIdentity(registry: Registry, deviceId: string, moduleId: string): Promise<void> {
  try {
    await registry.removeModule(deviceId, moduleId);
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
}

/**
 * The Secret a module reads its identity from: user modules connect through edgeHub (GatewayHostName
 * `edgehub`), edgeHub and the agent straight to IoT Hub.
 */
export function identitySecret(
  namespace: string,
  credentials: DeviceCredentials,
  identity: ModuleIdentity,
): KubeObject & { stringData: Record<string, string> } {
  const { hostName, deviceId } = credentials;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: identitySecretName(identity.moduleId),
      namespace,
      labels: {
        [LABEL.managedBy]: BRIDGE_MANAGER,
        [LABEL.device]: k8sName(deviceId),
        [LABEL.module]: k8sName(identity.moduleId),
      },
      annotations: { [ANNOTATION.moduleId]: identity.moduleId },
    },
    type: "Opaque",
    stringData: {
      [IDENTITY_KEYS.connectionString]: moduleConnectionString(
        hostName,
        deviceId,
        identity.moduleId,
        identity.key,
        isSystemModule(identity.moduleId) ? undefined : GATEWAY_HOST_NAME,
      ),
      [IDENTITY_KEYS.generationId]: identity.generationId,
      [PROVISIONED_WITH_KEY]: credentialsFingerprint(credentials),
    },
  };
}

/** The identity an identity Secret holds, with the hub and device it is for; undefined for other Secrets. */
export function identityFromSecret(secret: KubeObject | undefined): StoredIdentity | undefined {
  const data = (secret as { data?: Record<string, string> } | undefined)?.data;
  const decode = (key: string) => Buffer.from(data?.[key] ?? "", "base64").toString("utf8");
  const parts = new Map<string, string>();
  for (const part of decode(IDENTITY_KEYS.connectionString).split(";")) {
    const at = part.indexOf("=");
    if (at > 0) parts.set(part.slice(0, at), part.slice(at + 1));
  }
  const moduleId = parts.get("ModuleId");
  const key = parts.get("SharedAccessKey");
  if (moduleId === undefined || key === undefined) return undefined;
  return {
    moduleId,
    key,
    generationId: decode(IDENTITY_KEYS.generationId),
    hostName: parts.get("HostName") ?? "",
    deviceId: parts.get("DeviceId") ?? "",
    provisionedWith: decode(PROVISIONED_WITH_KEY),
  };
}
