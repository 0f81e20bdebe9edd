import type { DeviceCredentials } from "./connectionString.ts";
import {
  BRIDGE_MANAGER,
  type ModuleIdentity,
  type StoredIdentity,
  identityFromSecret,
  identitySecret,
} from "./identities.ts";
import type { KubeClient } from "../kube/client.ts";
import { RESOURCES } from "../kube/resources.ts";
import { k8sName } from "../naming/k8sName.ts";
import { identitySecretName } from "../translate/identity.ts";
import { LABEL } from "../translate/labels.ts";

/** Where a device's module identities are kept between runs: its identity Secrets. */
export interface IdentityStore {
  get(moduleId: string): Promise<StoredIdentity | undefined>;
  list(): Promise<StoredIdentity[]>;
  save(identity: ModuleIdentity): Promise<void>;
  remove(moduleId: string): Promise<void>;
}

/** The identity Secrets in the device's namespace, written by server-side apply as the bridge. */
export function secretStore(kube: KubeClient, namespace: string, credentials: DeviceCredentials): IdentityStore {
  return {
    async get(moduleId) {
      return identityFromSecret(await kube.get(RESOURCES.Secret, namespace, identitySecretName(moduleId)));
    },
    async list() {
      const labelSelector = `${LABEL.managedBy}=${BRIDGE_MANAGER},${LABEL.device}=${k8sName(credentials.deviceId)}`;
      const { items } = await kube.list(RESOURCES.Secret, { namespace, labelSelector });
      return items.map((s) => identityFromSecret(s)).filter((s): s is StoredIdentity => s !== undefined);
    },
    async save(identity) {
      await kube.apply(identitySecret(namespace, credentials, identity), BRIDGE_MANAGER);
    },
    async remove(moduleId) {
      await kube.delete(RESOURCES.Secret, namespace, identitySecretName(moduleId));
    },
  };
}
