import type { KubeObject } from "../../agent/src/kube/objects.ts";
import { parseDesired } from "../../agent/src/manifest/parse.ts";
import { DEFAULT_TRANSLATION_DEFAULTS } from "../../agent/src/translate/context.ts";
import { ANNOTATION } from "../../agent/src/translate/labels.ts";
import { translate } from "../../agent/src/translate/translate.ts";
import { manifest, userModule } from "../../agent/test/fixtures/manifests.ts";

/**
 * One soak device: what its deployment manifest says at one moment. Every device has named volumes,
 * a volume two modules share where the module first by name has the higher startupOrder (the
 * deadlock of issue 16), a stopped module, a private registry (pull Secret) and, at times, a module
 * whose claim is deleted with it (`pvcRetention: Delete`).
 */
export interface DeviceModel {
  readonly id: string;
  readonly namespace: string;
  /** Spec churn: each revision changes a module's environment, so its Deployment changes. */
  readonly revision: number;
  /** The `scratch` module (claim `scratch`, retention Delete) is in the manifest. */
  readonly withScratch: boolean;
  /** The manifest has an error (createOptions that is not JSON): the agent must keep the last valid objects. */
  readonly invalid: boolean;
  /** The private registry's password: it must never appear in a log. */
  readonly registryPassword: string;
}

export const SCRATCH_CLAIM = "scratch";
const REGISTRY = "registry.soak.example:5000";

/** The IoT Edge deployment manifest of a device model (`$edgeAgent` and `$edgeHub`, without `modulesContent`). */
export function deviceManifest(device: DeviceModel) {
  const binds = (...volumes: string[]) => ({ HostConfig: { Binds: volumes } });
  const modules: Record<string, unknown> = {
    alpha: userModule(`soak/alpha:1`, binds("shared:/shared", "alpha_data:/data"), { startupOrder: 2 }),
    beta: userModule(`soak/beta:1`, device.invalid ? "{not json" : binds("shared:/shared"), {
      startupOrder: 1,
      env: { SOAK_REVISION: { value: String(device.revision) } },
    }),
    gamma: userModule(`soak/gamma:1`, binds("gamma_data:/data"), { status: "stopped", startupOrder: 1 }),
    delta: userModule(`${REGISTRY}/soak/delta:1`, { ExposedPorts: { "8080/tcp": {} } }),
  };
  if (device.withScratch)
    modules["scratch"] = userModule("soak/scratch:1", {
      ...binds(`${SCRATCH_CLAIM}:/scratch`),
      "k8s-experimental": { pvcRetention: "Delete" },
    });
  return manifest({
    modules,
    registryCredentials: { soak: { address: REGISTRY, username: "soak", password: device.registryPassword } },
  }).modulesContent;
}

export const HUB_HOST_NAME = "soak-hub.azure-devices.net";

export function edgeDeploymentOf(device: DeviceModel): KubeObject {
  const documents = deviceManifest(device);
  return {
    apiVersion: "edgek8s.io/v1",
    kind: "EdgeDeployment",
    metadata: { name: device.id, namespace: device.namespace },
    spec: {
      deviceId: device.id,
      hubHostName: HUB_HOST_NAME,
      edgeAgent: documents.$edgeAgent["properties.desired"],
      edgeHub: documents.$edgeHub["properties.desired"],
    },
  };
}

/** What the agent should make of a device model: its objects by `Kind/name` (none when invalid). */
export interface Desired {
  readonly valid: boolean;
  readonly objects: ReadonlyMap<string, KubeObject>;
  /** Claims whose module opted in to deletion with it. */
  readonly deletableClaims: ReadonlySet<string>;
}

/** The objects the agent's own translation makes of a device model (the soak checks the controller, not translation). */
export function desiredOf(device: DeviceModel): Desired {
  const spec = edgeDeploymentOf(device)["spec"] as { edgeAgent: unknown; edgeHub: unknown };
  const parsed = parseDesired({
    edgeAgent: spec.edgeAgent,
    edgeHub: spec.edgeHub,
    edgeAgentPath: ["spec", "edgeAgent"],
    edgeHubPath: ["spec", "edgeHub"],
  });
  if (!parsed.ok) return { valid: false, objects: new Map(), deletableClaims: new Set() };
  const translation = translate(parsed.manifest, {
    deviceId: device.id,
    hubHostName: HUB_HOST_NAME,
    namespace: device.namespace,
    defaults: DEFAULT_TRANSLATION_DEFAULTS,
    owner: { apiVersion: "edgek8s.io/v1", kind: "EdgeDeployment", name: device.id, uid: "" },
    moduleIdentities: false,
  });
  const objects = new Map(translation.objects.map((o) => [`${o.kind}/${o.metadata.name}`, o as KubeObject]));
  const deletableClaims = new Set(
    translation.objects
      .filter(
        (o) => o.kind === "PersistentVolumeClaim" && o.metadata.annotations?.[ANNOTATION.pvcRetention] === "Delete",
      )
      .map((o) => o.metadata.name),
  );
  return { valid: true, objects, deletableClaims };
}
