import type { Registry } from "azure-iothub";
import type { DeviceCredentials } from "./connectionString.ts";
import { ensureDeviceCertificates } from "./deviceCertificates.ts";
import { BRIDGE_MANAGER } from "./identities.ts";
import type { IdentityStore } from "./identityStore.ts";
import { type SyncResult, syncModuleIdentities } from "./identitySync.ts";
import type { DesiredStatus } from "./reported.ts";
import type { Desired } from "./twin.ts";
import { API_VERSION, type EdgeDeploymentStatus, KIND } from "../crd/edgeDeployment.ts";
import type { KubeClient } from "../kube/client.ts";
import type { KubeObject } from "../kube/objects.ts";
import { desiredStatusFor, formatIssue } from "../manifest/issues.ts";
import { parseDesired } from "../manifest/parse.ts";
import { k8sName } from "../naming/k8sName.ts";
import type { Logger } from "../runtime/log.ts";
import { LABEL } from "../translate/labels.ts";

/**
 * One desired document into the cluster: validated (nothing is written for a refused one), then the
 * device certificates, the module identities and their Secrets, and last the EdgeDeployment spec the
 * reconciler acts on. Failures to reach IoT Hub or the API server are thrown for the bridge to retry.
 */

export type EdgeDeploymentObject = KubeObject & {
  spec?: { desiredVersion?: number; edgeAgent?: unknown };
  status?: EdgeDeploymentStatus;
};

export interface DeployContext {
  readonly kube: KubeClient;
  readonly namespace: string;
  readonly credentials: DeviceCredentials;
  readonly store: IdentityStore;
  readonly registry: () => Promise<Registry>;
  readonly log: Logger;
}

export type DeployOutcome =
  | { readonly kind: "refused"; readonly status: DesiredStatus; readonly problems: readonly string[] }
  | { readonly kind: "written"; readonly edgeDeployment: EdgeDeploymentObject; readonly identities: SyncResult };

/** `$version` and `$metadata` are twin bookkeeping, not part of the deployment. */
export function withoutTwinKeys(desired: Desired): Record<string, unknown> {
  return Object.fromEntries(Object.entries(desired).filter(([k]) => !k.startsWith("$")));
}

export async function deployDesired(ctx: DeployContext, desired: Desired): Promise<DeployOutcome> {
  const { kube, namespace, credentials } = ctx;
  const edgeAgent = withoutTwinKeys(desired);
  const parsed = parseDesired({
    edgeAgent,
    edgeHub: undefined,
    edgeAgentPath: ["$edgeAgent", "properties.desired"],
    edgeHubPath: ["$edgeHub", "properties.desired"],
    edgeHubFromTwin: true,
  });
  if (!parsed.ok) {
    // Nothing but twin bookkeeping: IoT Hub's "empty desired properties" (417), as the real agent says.
    const status =
      Object.keys(edgeAgent).length === 0
        ? { code: 417, description: "the $edgeAgent desired properties are empty" }
        : desiredStatusFor(parsed.issues);
    return { kind: "refused", status, problems: parsed.issues.map(formatIssue) };
  }
  const wanted = parsed.manifest.modules.map((m) => m.id);
  await ensureDeviceCertificates(kube, namespace, credentials.deviceId, ctx.log);
  const synced = await syncModuleIdentities({ credentials, wanted, store: ctx.store, registry: ctx.registry });
  const edgeDeployment = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: k8sName(credentials.deviceId),
      namespace,
      labels: { [LABEL.device]: k8sName(credentials.deviceId) },
    },
    spec: {
      deviceId: credentials.deviceId,
      hubHostName: credentials.hostName,
      desiredVersion: desired.$version,
      edgeAgent,
    },
  };
  return {
    kind: "written",
    edgeDeployment: await kube.apply<EdgeDeploymentObject>(edgeDeployment, BRIDGE_MANAGER),
    identities: synced,
  };
}
