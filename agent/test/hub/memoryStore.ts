// An IdentityStore kept in memory, holding exactly what the identity Secrets would (test code only).
import type { DeviceCredentials } from "../../src/hub/connectionString.ts";
import { type StoredIdentity, identityFromSecret, identitySecret } from "../../src/hub/identities.ts";
import type { IdentityStore } from "../../src/hub/identityStore.ts";

export function memoryStore(
  namespace: string,
  credentials: () => DeviceCredentials,
): IdentityStore & {
  readonly secrets: Map<string, StoredIdentity>;
} {
  const secrets = new Map<string, StoredIdentity>();
  return {
    secrets,
    get: (moduleId) => Promise.resolve(secrets.get(moduleId)),
    list: () => Promise.resolve([...secrets.values()]),
    save(identity) {
      const secret = identitySecret(namespace, credentials(), identity);
      const data = Object.fromEntries(
        Object.entries(secret.stringData).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
      );
      const stored = identityFromSecret({ ...secret, data });
      if (stored) secrets.set(identity.moduleId, stored);
      return Promise.resolve();
    },
    remove(moduleId) {
      secrets.delete(moduleId);
      return Promise.resolve();
    },
  };
}
