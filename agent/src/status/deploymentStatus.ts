import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { nextConditions } from "./conditions.ts";
import { type PodWarning, isModuleReady, moduleRuntimeStatus, unschedulableReason } from "./moduleStatus.ts";
import { isModuleRolledOut, readiness, rolloutGap } from "./readiness.ts";
import type { EdgeDeploymentStatus, ModuleStatus } from "../crd/edgeDeployment.ts";
import { type ManifestIssue, type ManifestWarning, desiredStatusFor, formatIssue } from "../manifest/issues.ts";
import type { TranslatedModule } from "../translate/translate.ts";

export type Outcome =
  | {
      readonly kind: "invalid";
      readonly issues: readonly ManifestIssue[];
      readonly warnings: readonly ManifestWarning[];
    }
  | {
      readonly kind: "applied";
      readonly modules: readonly (TranslatedModule & { readonly version: string | undefined })[];
      readonly warnings: readonly ManifestWarning[];
      readonly deployments: ReadonlyMap<string, V1Deployment>;
      /** The applied-hash of each module's Deployment as this pass translated it, by Kubernetes name. */
      readonly expectedHashes: ReadonlyMap<string, string>;
      readonly pods: ReadonlyMap<string, readonly V1Pod[]>;
      /** The latest Warning event of each pod kubelet is still preparing, by pod uid. */
      readonly podWarnings?: ReadonlyMap<string, PodWarning>;
      /** Modules not created yet because a module with a lower startupOrder is not available. */
      readonly waitingFor: readonly string[];
      readonly applyError: string | undefined;
    };

export interface StatusInputs {
  readonly generation: number;
  readonly desiredVersion: number | undefined;
  readonly previous: EdgeDeploymentStatus | undefined;
  readonly now: string;
  readonly outcome: Outcome;
}

const MAX_MESSAGE = 2000;
const clip = (text: string) => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text);

/** The EdgeDeployment status for one reconcile pass: a pure function of what the pass saw. */
export function edgeDeploymentStatus(inputs: StatusInputs): EdgeDeploymentStatus {
  const { outcome, previous, generation, now } = inputs;
  const common = {
    observedGeneration: generation,
    ...(inputs.desiredVersion !== undefined ? { desiredVersion: inputs.desiredVersion } : {}),
  };
  if (outcome.kind === "invalid") {
    const message = clip(
      `the manifest is invalid; the objects of the last valid manifest are kept: ${outcome.issues.map(formatIssue).join("; ")}`,
    );
    return {
      ...common,
      conditions: nextConditions(
        previous?.conditions,
        [
          { type: "Ready", status: false, reason: "InvalidManifest", message },
          { type: "Progressing", status: false, reason: "InvalidManifest", message },
          { type: "Degraded", status: true, reason: "InvalidManifest", message },
        ],
        generation,
        now,
      ),
      ...(previous?.modules ? { modules: previous.modules } : {}),
      ...(previous?.modulesReady ? { modulesReady: previous.modulesReady } : {}),
      warnings: outcome.warnings.map(({ path, message: m }) => ({ path, message: m })),
      lastDesiredStatus: desiredStatusFor(outcome.issues),
      readiness: readiness({
        modules: [],
        blocked: true,
        desiredVersion: inputs.desiredVersion,
        previous: previous?.readiness,
        now,
      }),
    };
  }
  const modules: Record<string, ModuleStatus> = {};
  let ready = 0;
  const notReady: string[] = [];
  const failing: string[] = [];
  const rollouts = outcome.modules.map((module) => {
    const deployment = outcome.deployments.get(module.k8sName);
    const status = moduleRuntimeStatus(
      module,
      module.version,
      deployment,
      outcome.pods.get(module.k8sName) ?? [],
      outcome.podWarnings,
    );
    return { module, status, deployment, expectedHash: outcome.expectedHashes.get(module.k8sName) };
  });
  for (const rollout of rollouts) {
    const { module, status } = rollout;
    modules[module.id] = status;
    if (isModuleRolledOut(rollout)) ready++;
    else
      notReady.push(
        `${module.id} (${status.runtimeStatus === "running" ? (rolloutGap(rollout) ?? "running") : status.runtimeStatus})`,
      );
    if (status.runtimeStatus === "failed" || status.runtimeStatus === "backoff" || status.runtimeStatus === "unhealthy")
      failing.push(`${module.id}: ${status.statusDescription ?? status.runtimeStatus}`);
  }
  const blocked = outcome.applyError !== undefined || outcome.waitingFor.length > 0;
  const allReady = notReady.length === 0 && !blocked;
  const progressing =
    outcome.waitingFor.length > 0 || (!allReady && failing.length === 0 && outcome.applyError === undefined);
  const blockers = startupOrderBlockers(outcome, modules);
  const degraded = outcome.applyError !== undefined || failing.length > 0 || blockers.length > 0;
  return {
    ...common,
    conditions: nextConditions(
      previous?.conditions,
      [
        {
          type: "Ready",
          status: allReady,
          reason: allReady ? "AllModulesReady" : "ModulesNotReady",
          message: allReady ? `${ready} modules ready` : clip(`not ready: ${notReady.join(", ")}`),
        },
        {
          type: "Progressing",
          status: progressing,
          reason:
            outcome.waitingFor.length > 0 ? "WaitingForStartupOrder" : progressing ? "ModulesStarting" : "Settled",
          message:
            outcome.waitingFor.length > 0
              ? `waiting for lower startupOrder before: ${outcome.waitingFor.join(", ")}`
              : progressing
                ? "modules are starting"
                : "",
        },
        {
          type: "Degraded",
          status: degraded,
          reason:
            outcome.applyError !== undefined
              ? "ApplyFailed"
              : blockers.length > 0
                ? "StartupOrderBlocked"
                : failing.length > 0
                  ? "ModulesFailing"
                  : "AsExpected",
          message: clip(
            outcome.applyError ??
              (blockers.length > 0
                ? `${outcome.waitingFor.join(", ")} cannot start before: ${blockers.join("; ")}`
                : failing.join("; ")),
          ),
        },
      ],
      generation,
      now,
    ),
    modules,
    modulesReady: `${ready}/${outcome.modules.length}`,
    warnings: outcome.warnings.map(({ path, message }) => ({ path, message })),
    lastDesiredStatus:
      outcome.applyError !== undefined
        ? { code: 500, description: clip(outcome.applyError) }
        : { code: 200, description: "" },
    readiness: readiness({
      modules: rollouts,
      blocked,
      desiredVersion: inputs.desiredVersion,
      previous: previous?.readiness,
      now,
    }),
  };
}

/**
 * Modules that others wait for (a lower startupOrder) and that cannot start: they fail, or the
 * scheduler cannot place their pod. Until one of them changes, the device can never progress.
 */
function startupOrderBlockers(
  outcome: Extract<Outcome, { kind: "applied" }>,
  modules: Readonly<Record<string, ModuleStatus>>,
): string[] {
  const waiting = outcome.modules.filter((m) => outcome.waitingFor.includes(m.k8sName));
  if (waiting.length === 0) return [];
  const first = Math.min(...waiting.map((m) => m.startupOrder));
  return outcome.modules.flatMap((module) => {
    const status = modules[module.id];
    if (module.startupOrder >= first || !status || isModuleReady(module, status)) return [];
    const unscheduled = unschedulableReason(outcome.pods.get(module.k8sName) ?? []);
    const failed = ["failed", "backoff", "unhealthy"].includes(status.runtimeStatus);
    if (unscheduled === undefined && !failed) return [];
    const why = unscheduled !== undefined ? `its pod cannot be scheduled: ${unscheduled}` : status.statusDescription;
    return [`${module.id} (startupOrder ${module.startupOrder}) is ${status.runtimeStatus}, ${why ?? ""}`];
  });
}
