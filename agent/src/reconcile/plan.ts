import type { V1Deployment } from "@kubernetes/client-node";
import { appliedHashOf, needsApply, withAppliedHash } from "./drift.ts";
import type { KubeObject } from "../kube/objects.ts";
import { ANNOTATION, LABEL } from "../translate/labels.ts";
import type { Translation } from "../translate/translate.ts";

/** What one reconcile pass should do. */
export interface Plan {
  /** Objects to apply, in order (device-wide first, then modules by startupOrder). */
  readonly apply: readonly KubeObject[];
  /** Live objects that are no longer desired. */
  readonly prune: readonly KubeObject[];
  /** Modules not created yet because a module with a lower startupOrder is not available. */
  readonly waitingFor: readonly string[];
  /** Desired objects whose name is taken by an object another controller owns; left alone. */
  readonly conflicts: readonly string[];
  /**
   * The applied-hash of every desired Deployment by name, applied this pass or not (status compares the
   * live Deployments with it), computed once with the hash `apply` carries.
   */
  readonly deploymentHashes: ReadonlyMap<string, string>;
}

export interface LiveObjects {
  get(kind: string, name: string): KubeObject | undefined;
  /** Every live object of this device that the EdgeDeployment owns. */
  readonly owned: readonly KubeObject[];
}

/** A Deployment is available when it serves its replicas (or is scaled to zero) at its current generation. */
export function isDeploymentAvailable(deployment: V1Deployment | undefined): boolean {
  if (!deployment) return false;
  const wanted = deployment.spec?.replicas ?? 1;
  const observed = deployment.status?.observedGeneration ?? 0;
  if (observed < (deployment.metadata?.generation ?? 0)) return false;
  return wanted === 0 || (deployment.status?.availableReplicas ?? 0) >= wanted;
}

/**
 * A claim that already exists keeps its spec (most of it is immutable); only metadata follows the
 * manifest. Its applied-hash stays that of the translated claim, so what the API server fills in
 * (the default storageClassName) never counts as a change to apply again.
 */
function keepClaimSpec(desired: KubeObject, live: KubeObject | undefined): KubeObject {
  if (desired.kind !== "PersistentVolumeClaim" || !live) return desired;
  const spec = live["spec"] as Record<string, unknown> | undefined;
  return {
    ...desired,
    spec: {
      accessModes: spec?.["accessModes"],
      resources: spec?.["resources"],
      ...(spec?.["storageClassName"] ? { storageClassName: spec["storageClassName"] } : {}),
    },
  };
}

/**
 * Plans a pass: every desired object that differs from the live one is applied, in kind order,
 * except that a module whose Deployment does not exist yet is created only when every module with a
 * lower startupOrder is available. Claims are never held back: a claim is shared by every module
 * that mounts the volume, and one of a lower startupOrder must not wait for it. Live objects of the
 * device no longer desired are pruned; claims only when their module opted in (`pvcRetention: Delete`).
 */
export function planPass(translation: Translation, live: LiveObjects, ownerUid: string): Plan {
  const orders = [...new Set(translation.modules.map((m) => m.startupOrder))].sort((a, b) => a - b);
  const moduleOrder = new Map(translation.modules.map((m) => [m.k8sName, m.startupOrder]));
  const blockedFrom = orders.find((order) => {
    const lower = translation.modules.filter((m) => m.startupOrder < order);
    return lower.some((m) => !isDeploymentAvailable(live.get("Deployment", m.k8sName) as V1Deployment | undefined));
  });
  const waitingFor = new Set<string>();
  const apply: KubeObject[] = [];
  const conflicts: string[] = [];
  const deploymentHashes = new Map<string, string>();
  for (const object of translation.objects) {
    const hash = appliedHashOf(object);
    if (object.kind === "Deployment") deploymentHashes.set(object.metadata.name, hash);
    const module = object.metadata.labels?.[LABEL.module];
    const order = module !== undefined ? moduleOrder.get(module) : undefined;
    const isNewModule = module !== undefined && order !== undefined && live.get("Deployment", module) === undefined;
    const gated = object.kind !== "PersistentVolumeClaim";
    if (gated && isNewModule && blockedFrom !== undefined && order >= blockedFrom) {
      waitingFor.add(module);
      continue;
    }
    const current = live.get(object.kind, object.metadata.name);
    const controller = current?.metadata?.ownerReferences?.find((r) => r.controller === true);
    if (controller && controller.uid !== ownerUid) {
      conflicts.push(`${object.kind}/${object.metadata.name} belongs to ${controller.kind} ${controller.name}`);
      continue;
    }
    const desired = keepClaimSpec(withAppliedHash(object, hash), current);
    if (needsApply(desired, current)) apply.push(desired);
  }
  const wanted = new Set(translation.objects.map((o) => `${o.kind}/${o.metadata.name}`));
  const prune = live.owned.filter((o) => {
    if (wanted.has(`${o.kind ?? ""}/${o.metadata?.name ?? ""}`) || o.metadata?.deletionTimestamp) return false;
    if (o.kind === "PersistentVolumeClaim") return o.metadata?.annotations?.[ANNOTATION.pvcRetention] === "Delete";
    return true;
  });
  return { apply, prune, waitingFor: [...waitingFor].sort(), conflicts, deploymentHashes };
}
