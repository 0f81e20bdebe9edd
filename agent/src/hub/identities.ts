import { randomBytes } from "node:crypto";
import type { Registry } from "azure-iothub";
import { moduleConnectionString } from "./connectionString.ts";
import type { KubeObject } from "../kube/objects.ts";
import { k8sName } from "../naming/k8sName.ts";
import { GATEWAY_HOST_NAME, IDENTITY_KEYS, identitySecretName } from "../translate/identity.ts";
import { LABEL } from "../translate/labels.ts";

/**
 * Module identities under the device, managed with the device's own key (DESIGN §8: it may create,
 * read and delete the module identities under it), and the Secrets that hand them to the modules.
 */

export const BRIDGE_MANAGER = "edgek8s-hub-bridge";
export const EDGE_AGENT_MODULE_ID = "$edgeAgent";
export const SYSTEM_MODULE_IDS = ["$edgeAgent", "$edgeHub"] as const;
/** IoT Edge marks the identities it manages this way; others are never touched. */
export const MANAGED_BY_EDGE = "iotEdge";

export interface ModuleIdentity {
  readonly moduleId: string;
  readonly key: string;
  readonly generationId: string;
}

function statusOf(error: unknown): number | undefined {
  return (error as { response?: { statusCode?: number } } | undefined)?.response?.statusCode;
}

const newKey = () => randomBytes(32).toString("base64");

interface ModuleBody {
  moduleId?: string;
  generationId?: string;
  authentication?: { symmetricKey?: { primaryKey?: string; secondaryKey?: string } };
}

/** Reads the module identity, creating it (or giving it keys) when needed. */
export async function ensureModuleIdentity(
  registry: Registry,
  deviceId: string,
  moduleId: string,
): Promise<ModuleIdentity> {
  let body: ModuleBody | undefined;
  try {
    body = (await registry.getModule(deviceId, moduleId)).responseBody;
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
  const key = body?.authentication?.symmetricKey?.primaryKey;
  if (body && key) return { moduleId, key, generationId: body.generationId ?? "" };
  const symmetricKey = { primaryKey: newKey(), secondaryKey: newKey() };
  const module = {
    moduleId,
    deviceId,
    managedBy: MANAGED_BY_EDGE,
    authentication: { type: "sas", symmetricKey },
  };
  const result = body ? await registry.updateModule({ ...module, etag: "*" }, true) : await registry.addModule(module);
  const created = result.responseBody as ModuleBody;
  return {
    moduleId,
    key: created.authentication?.symmetricKey?.primaryKey ?? symmetricKey.primaryKey,
    generationId: created.generationId ?? "",
  };
}

/** Module identities IoT Edge manages under the device, system modules excluded. */
export async function managedModuleIds(registry: Registry, deviceId: string): Promise<string[]> {
  const modules = (await registry.getModulesOnDevice(deviceId)).responseBody as (ModuleBody & { managedBy?: string })[];
  return modules
    .filter((m) => m.managedBy === MANAGED_BY_EDGE && !SYSTEM_MODULE_IDS.includes(m.moduleId as never))
    .map((m) => m.moduleId ?? "")
    .filter((id) => id !== "");
}

export async function removeModuleIdentity(registry: Registry, deviceId: string, moduleId: string): Promise<void> {
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
  hostName: string,
  deviceId: string,
  identity: ModuleIdentity,
): KubeObject & { stringData: Record<string, string> } {
  const system = SYSTEM_MODULE_IDS.includes(identity.moduleId as never);
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
      annotations: { "edgek8s.io/module-id": identity.moduleId },
    },
    type: "Opaque",
    stringData: {
      [IDENTITY_KEYS.connectionString]: moduleConnectionString(
        hostName,
        deviceId,
        identity.moduleId,
        identity.key,
        system ? undefined : GATEWAY_HOST_NAME,
      ),
      [IDENTITY_KEYS.generationId]: identity.generationId,
    },
  };
}

/** The key a stored identity Secret holds, so a restarted agent keeps its `$edgeAgent` identity. */
export function identityFromSecret(secret: KubeObject | undefined, moduleId: string): ModuleIdentity | undefined {
  const data = (secret as { data?: Record<string, string> } | undefined)?.data;
  const cs = data?.[IDENTITY_KEYS.connectionString];
  if (cs === undefined) return undefined;
  const text = Buffer.from(cs, "base64").toString("utf8");
  const key = /(?:^|;)SharedAccessKey=([^;]+)/.exec(text)?.[1];
  if (key === undefined) return undefined;
  const generationId = Buffer.from(data?.[IDENTITY_KEYS.generationId] ?? "", "base64").toString("utf8");
  return { moduleId, key, generationId };
}
