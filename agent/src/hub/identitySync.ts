import type { Registry } from "azure-iothub";
import type { DeviceCredentials } from "./connectionString.ts";
import {
  EDGE_AGENT_MODULE_ID,
  type ModuleBody,
  type ModuleIdentity,
  isCurrent,
  isManagedByEdge,
  isSystemModule,
  provisionIdentity,
  removeIdentity,
} from "./identities.ts";
import type { IdentityStore } from "./identityStore.ts";

/**
 * Keeps a device's module identities and their Secrets in step with the modules it runs, spending
 * the identity registry's budget (100 operations a minute per S1 unit, shared by the whole hub) only
 * on change. When every wanted module has a current Secret and no Secret is left over, nothing is
 * asked of IoT Hub: a restarted agent makes no registry call. Otherwise the device's identities are
 * listed once, and each wanted one is provisioned, re-read or kept by what the listing says (a
 * generation id that changed means the identity was made again: its stored key is dead); identities
 * IoT Edge manages that no module wants any more are removed, with their Secrets. `$edgeAgent` is
 * the bridge's own, kept by edgeAgentIdentity.
 */

export interface SyncInputs {
  readonly credentials: DeviceCredentials;
  /** Module identities the deployment needs (edgeHub and the user modules). */
  readonly wanted: readonly string[];
  readonly store: IdentityStore;
  /** Made only when IoT Hub must be asked. */
  readonly registry: () => Promise<Registry>;
}

export interface SyncResult {
  /** Identities whose Secret was written. */
  readonly stored: readonly string[];
  /** Identities removed from IoT Hub or whose Secret was deleted. */
  readonly removed: readonly string[];
  /** Whether IoT Hub was asked at all. */
  readonly askedHub: boolean;
}

export async function syncModuleIdentities(inputs: SyncInputs): Promise<SyncResult> {
  const { credentials, wanted, store } = inputs;
  const { deviceId } = credentials;
  const stored = new Map((await store.list()).map((s) => [s.moduleId, s]));
  const missing = wanted.filter((id) => {
    const s = stored.get(id);
    return !s || !isCurrent(s, credentials);
  });
  const leftover = [...stored.keys()].filter((id) => id !== EDGE_AGENT_MODULE_ID && !wanted.includes(id));
  if (missing.length === 0 && leftover.length === 0) return { stored: [], removed: [], askedHub: false };

  const registry = await inputs.registry();
  const listed = new Map(
    ((await registry.getModulesOnDevice(deviceId)).responseBody as ModuleBody[]).map((m) => [m.moduleId ?? "", m]),
  );
  const written: string[] = [];
  for (const moduleId of wanted) {
    const have = stored.get(moduleId);
    const hub = listed.get(moduleId);
    const alive = have && isCurrent(have, credentials) && hub?.generationId === have.generationId;
    if (alive) continue;
    const identity: ModuleIdentity = await provisionIdentity(registry, deviceId, moduleId, hub);
    await store.save(identity);
    written.push(moduleId);
  }
  const removed: string[] = [];
  const unwanted = new Set([...leftover, ...[...listed.keys()].filter((id) => !wanted.includes(id))]);
  for (const moduleId of unwanted) {
    if (isSystemModule(moduleId)) continue;
    const hub = listed.get(moduleId);
    // Only identities IoT Edge manages leave IoT Hub; anyone else's stay, only our Secret goes.
    if (hub && isManagedByEdge(hub)) await removeIdentity(registry, deviceId, moduleId);
    else if (!stored.has(moduleId)) continue;
    if (stored.has(moduleId)) await store.remove(moduleId);
    removed.push(moduleId);
  }
  return { stored: written, removed, askedHub: true };
}
