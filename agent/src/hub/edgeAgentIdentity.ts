import type { Registry } from "azure-iothub";
import type { DeviceCredentials } from "./connectionString.ts";
import { EDGE_AGENT_MODULE_ID, type ModuleIdentity, isCurrent, provisionIdentity, readIdentity } from "./identities.ts";
import type { IdentityStore } from "./identityStore.ts";

/**
 * The bridge's own `$edgeAgent` identity. It is kept in a Secret so that a restarted agent is the
 * same module without asking IoT Hub; a Secret made for another hub, another device or other device
 * credentials (a re-created device, a rotated key) is not trusted and the identity is read again.
 * When IoT Hub refuses the stored key anyway, `renewEdgeAgentIdentity` reads the identity again and
 * rewrites the Secret when IoT Hub now holds another key (the identity was made again).
 */

export async function edgeAgentIdentity(
  store: IdentityStore,
  credentials: DeviceCredentials,
  registry: () => Promise<Registry>,
): Promise<{ identity: ModuleIdentity; provisioned: boolean }> {
  const stored = await store.get(EDGE_AGENT_MODULE_ID);
  if (stored && isCurrent(stored, credentials)) return { identity: stored, provisioned: false };
  const hub = await registry();
  const existing = await readIdentity(hub, credentials.deviceId, EDGE_AGENT_MODULE_ID);
  const identity = await provisionIdentity(hub, credentials.deviceId, EDGE_AGENT_MODULE_ID, existing);
  await store.save(identity);
  return { identity, provisioned: true };
}

/** After IoT Hub refused the stored key: whether IoT Hub holds another key now (and the Secret was rewritten). */
export async function renewEdgeAgentIdentity(
  store: IdentityStore,
  credentials: DeviceCredentials,
  registry: () => Promise<Registry>,
): Promise<boolean> {
  const stored = await store.get(EDGE_AGENT_MODULE_ID);
  const hub = await registry();
  const existing = await readIdentity(hub, credentials.deviceId, EDGE_AGENT_MODULE_ID);
  const identity = await provisionIdentity(hub, credentials.deviceId, EDGE_AGENT_MODULE_ID, existing);
  const changed =
    !stored ||
    !isCurrent(stored, credentials) ||
    stored.key !== identity.key ||
    stored.generationId !== identity.generationId;
  if (changed) await store.save(identity);
  return changed;
}
