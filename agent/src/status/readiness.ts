import type { V1Deployment } from "@kubernetes/client-node";
import { isModuleReady } from "./moduleStatus.ts";
import type { ModuleStatus, Readiness } from "../crd/edgeDeployment.ts";
import { APPLIED_HASH } from "../reconcile/drift.ts";
import type { TranslatedModule } from "../translate/translate.ts";

/**
 * The readiness report the rollout gates read (ROLLOUT.md §B3 "Agent addition", §B4 step 3): whether
 * the device runs exactly the desired version it was sent. Pure.
 *
 * A module counts only when its runtime status is what the manifest asks (running, or stopped when
 * stopped) AND its Deployment has rolled out to the template this version produced: the live
 * Deployment carries the applied-hash of what this pass translated (so a cache that has not seen the
 * apply yet cannot vouch for it), the Deployment controller has observed that generation, and every
 * replica is an updated one (no pod of the previous template is left serving). Otherwise an old pod
 * still running the previous image would make a new version look healthy — the stale-health judgement
 * of Argo CD #29410.
 */
export interface ModuleRollout {
  readonly module: TranslatedModule;
  readonly status: ModuleStatus;
  /** The applied-hash of the Deployment this pass translated for the module. */
  readonly expectedHash: string | undefined;
  /** The live Deployment, as the cache holds it. */
  readonly deployment: V1Deployment | undefined;
}

/** Why a module's Deployment does not yet run the current template, or undefined when it does. */
export function rolloutGap(rollout: ModuleRollout): string | undefined {
  const { deployment, expectedHash, module } = rollout;
  if (!deployment) return "not created yet";
  if (expectedHash === undefined || deployment.metadata?.annotations?.[APPLIED_HASH] !== expectedHash)
    return "not updated yet";
  const wanted = module.status === "stopped" ? 0 : 1;
  if ((deployment.spec?.replicas ?? 1) !== wanted) return "not updated yet";
  if ((deployment.status?.observedGeneration ?? 0) < (deployment.metadata.generation ?? 0)) return "rolling out";
  const replicas = deployment.status?.replicas ?? 0;
  const updated = deployment.status?.updatedReplicas ?? 0;
  if (replicas !== wanted || (wanted > 0 && updated < wanted)) return "rolling out";
  if (wanted > 0 && (deployment.status?.availableReplicas ?? 0) < wanted) return "rolling out";
  return undefined;
}

export interface ReadinessInputs {
  readonly modules: readonly ModuleRollout[];
  /** An apply error, a module held back by startupOrder, or a manifest refused: never ready. */
  readonly blocked: boolean;
  /** The desired version this pass acted on (`spec.desiredVersion`). */
  readonly desiredVersion: number | undefined;
  readonly previous: Readiness | undefined;
  readonly now: string;
}

export function isModuleRolledOut(rollout: ModuleRollout): boolean {
  return isModuleReady(rollout.module, rollout.status) && rolloutGap(rollout) === undefined;
}

/**
 * `ready` is true only when every module is as desired on the current template; `readySince` moves
 * only when `ready` or `readyVersion` changes, so a module that stays not ready after a new version
 * arrives starts its grace period from that version, not from an older one.
 */
export function readiness(inputs: ReadinessInputs): Readiness {
  const modulesReady = inputs.modules.filter(isModuleRolledOut).length;
  const modulesTotal = inputs.modules.length;
  const ready = !inputs.blocked && modulesReady === modulesTotal;
  const previous = inputs.previous;
  const unchanged =
    previous !== undefined && previous.ready === ready && previous.readyVersion === inputs.desiredVersion;
  return {
    ready,
    ...(inputs.desiredVersion !== undefined ? { readyVersion: inputs.desiredVersion } : {}),
    modulesReady,
    modulesTotal,
    readySince: unchanged ? previous.readySince : inputs.now,
  };
}
