import type { V1ContainerStatus, V1Deployment, V1Pod } from "@kubernetes/client-node";
import type { ModuleStatus, RuntimeStatus } from "../crd/edgeDeployment.ts";
import type { TranslatedModule } from "../translate/translate.ts";
import { compareText } from "../runtime/canonical.ts";

// The API server gives `null` for a time a status left unset (kwok renders one; so may any client).
type Time = string | Date | undefined | null;

/** The latest Warning event of a pod (FailedMount, FailedCreatePodSandBox, …): why it cannot start. */
export interface PodWarning {
  readonly reason: string;
  readonly message: string;
}

/** Waiting reasons kubelet shows while it prepares a pod; what blocks it is only in the pod's events. */
const STARTING = new Set(["ContainerCreating", "PodInitializing"]);

/**
 * A pod kubelet is still preparing (volumes, sandbox): its container waits as ContainerCreating, or
 * has no status yet on a scheduled pod. The reason it stays so is in its Warning events.
 */
export function isStartingUp(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp !== undefined || pod.status?.phase !== "Pending") return false;
  const statuses = pod.status.containerStatuses ?? [];
  if (statuses.length === 0) return pod.spec?.nodeName !== undefined;
  return statuses.some((c) => STARTING.has(c.state?.waiting?.reason ?? ""));
}

function iso(time: Time): string | undefined {
  if (time === undefined || time === null) return undefined;
  return typeof time === "string" ? time : time.toISOString();
}

/** A pod made from the Deployment's current template (same images and template annotations). */
function fromCurrentTemplate(pod: V1Pod, deployment: V1Deployment | undefined): boolean {
  const template = deployment?.spec?.template;
  if (!template) return true;
  const images = new Map(pod.spec?.containers.map((c) => [c.name, c.image]));
  const annotations = pod.metadata?.annotations ?? {};
  return (
    (template.spec?.containers ?? []).every((c) => images.get(c.name) === c.image) &&
    Object.entries(template.metadata?.annotations ?? {}).every(([k, v]) => annotations[k] === v)
  );
}

/** The pod that shows the module's state: not terminating, made from the current template, newest. */
function currentPod(pods: readonly V1Pod[], deployment: V1Deployment | undefined): V1Pod | undefined {
  const live = pods.filter((p) => p.metadata?.deletionTimestamp === undefined);
  const current = live.filter((p) => fromCurrentTemplate(p, deployment));
  const candidates = current.length > 0 ? current : live.length > 0 ? live : [...pods];
  return candidates.sort((a, b) =>
    compareText(iso(b.metadata?.creationTimestamp) ?? "", iso(a.metadata?.creationTimestamp) ?? ""),
  )[0];
}

function withTimes(
  base: { name: string; runtimeStatus: RuntimeStatus; statusDescription?: string; version?: string | undefined },
  container: V1ContainerStatus | undefined,
): ModuleStatus {
  const state = container?.state;
  const last = container?.lastState?.terminated;
  const terminated = state?.terminated ?? last;
  const restartCount = container?.restartCount ?? 0;
  const status: ModuleStatus = {
    name: base.name,
    runtimeStatus: base.runtimeStatus,
    restartCount,
    ...(base.statusDescription ? { statusDescription: base.statusDescription } : {}),
    ...(base.version !== undefined ? { version: base.version } : {}),
  };
  const started = iso(state?.running?.startedAt) ?? iso(terminated?.startedAt);
  const exited = iso(state?.terminated?.finishedAt) ?? iso(last?.finishedAt);
  return {
    ...status,
    ...(terminated ? { exitCode: terminated.exitCode } : {}),
    ...(started ? { lastStartTimeUtc: started } : {}),
    ...(exited ? { lastExitTimeUtc: exited } : {}),
    ...(restartCount > 0 && state?.running?.startedAt ? { lastRestartTimeUtc: iso(state.running.startedAt)! } : {}),
  };
}

type Terminated = NonNullable<NonNullable<V1ContainerStatus["state"]>["terminated"]>;

/** "exited with code 137 (OOMKilled: …)": the exit code with the kubelet's reason and message, when it gives them. */
function exitDescription(terminated: Terminated): string {
  const detail = [terminated.reason, terminated.message?.trim()].filter((p) => p !== undefined && p !== "").join(": ");
  return `exited with code ${terminated.exitCode}${detail !== "" && detail !== "Completed" && detail !== "Error" ? ` (${detail})` : ""}`;
}

/** Why a pod waits: the scheduler's message when it cannot place it (PodScheduled false). */
function pendingReason(pod: V1Pod): string {
  const unscheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  const parts = [pod.status?.reason, unscheduled?.reason, unscheduled?.message].filter(
    (p) => p !== undefined && p !== "",
  );
  return parts.length > 0 ? `: ${parts.join(": ")}` : "";
}

/**
 * A module's runtime status from its pods, as the original agent mapped it (DESIGN §7):
 * running → running (unhealthy when not ready though it has a liveness probe); waiting → backoff;
 * terminated exit 0 → stopped, otherwise failed; pod Succeeded → stopped, Failed → failed,
 * Unknown → unknown. A stopped module with no pod is stopped; one whose pods the cluster refuses to
 * create (ReplicaFailure) has failed. A pod kubelet cannot prepare (a volume it cannot mount, a
 * sandbox it cannot make) is described by its latest Warning event, from `warnings` by pod uid.
 */
export function moduleRuntimeStatus(
  module: TranslatedModule,
  version: string | undefined,
  deployment: V1Deployment | undefined,
  pods: readonly V1Pod[],
  warnings: ReadonlyMap<string, PodWarning> = new Map(),
): ModuleStatus {
  const base = { name: module.k8sName, version };
  const pod = currentPod(pods, deployment);
  if (!pod) {
    if (module.status === "stopped")
      return withTimes(
        { ...base, runtimeStatus: "stopped", statusDescription: "stopped by the deployment manifest" },
        undefined,
      );
    // The ReplicaSet could not create a pod (Pod Security, quota, a missing ServiceAccount …): the
    // module has failed, and the reason is what the user must fix.
    const refused = deployment?.status?.conditions?.find((c) => c.type === "ReplicaFailure" && c.status === "True");
    if (refused)
      return withTimes(
        {
          ...base,
          runtimeStatus: "failed",
          statusDescription: `pods cannot be created: ${refused.message ?? refused.reason ?? ""}`,
        },
        undefined,
      );
    return withTimes(
      { ...base, runtimeStatus: "unknown", statusDescription: deployment ? "no pod yet" : "not applied yet" },
      undefined,
    );
  }
  const container = pod.status?.containerStatuses?.find((c) => c.name === module.k8sName);
  const phase = pod.status?.phase;
  const warning = isStartingUp(pod) ? warnings.get(pod.metadata?.uid ?? "") : undefined;
  if (warning)
    return withTimes(
      { ...base, runtimeStatus: "backoff", statusDescription: `${warning.reason}: ${warning.message}` },
      container,
    );
  if (phase === "Succeeded")
    return withTimes({ ...base, runtimeStatus: "stopped", statusDescription: "pod succeeded" }, container);
  if (phase === "Failed") {
    const why = [pod.status?.reason, pod.status?.message].filter((p) => p !== undefined && p !== "").join(": ");
    return withTimes({ ...base, runtimeStatus: "failed", statusDescription: why || "pod failed" }, container);
  }
  if (phase === "Unknown")
    return withTimes({ ...base, runtimeStatus: "unknown", statusDescription: "pod state unknown" }, container);
  const state = container?.state;
  if (state?.running) {
    const hasProbe =
      deployment?.spec?.template.spec?.containers.find((c) => c.name === module.k8sName)?.livenessProbe !== undefined;
    if (container?.ready === false && hasProbe)
      return withTimes({ ...base, runtimeStatus: "unhealthy", statusDescription: "liveness probe failing" }, container);
    return withTimes({ ...base, runtimeStatus: "running", statusDescription: "running" }, container);
  }
  if (state?.terminated) {
    const code = state.terminated.exitCode;
    return withTimes(
      {
        ...base,
        runtimeStatus: code === 0 ? "stopped" : "failed",
        statusDescription: exitDescription(state.terminated),
      },
      container,
    );
  }
  if (state?.waiting) {
    const { reason = "Waiting", message } = state.waiting;
    const last = container?.lastState?.terminated;
    const why = `${message ? `${reason}: ${message}` : reason}${last ? `; last run ${exitDescription(last)}` : ""}`;
    return withTimes({ ...base, runtimeStatus: "backoff", statusDescription: why }, container);
  }
  // No container status yet: the pod waits to be scheduled or started.
  return withTimes(
    {
      ...base,
      runtimeStatus: "unknown",
      statusDescription: `pod ${phase ?? "Pending"}${pendingReason(pod)}`,
    },
    container,
  );
}

/** A module counts as ready when it runs, or when the manifest stops it and it is stopped. */
export function isModuleReady(module: TranslatedModule, status: ModuleStatus): boolean {
  return module.status === "stopped" ? status.runtimeStatus === "stopped" : status.runtimeStatus === "running";
}

/** The scheduler's message when a module's pods (none running) cannot be placed on any node. */
export function unschedulableReason(pods: readonly V1Pod[]): string | undefined {
  const live = pods.filter((p) => p.metadata?.deletionTimestamp === undefined);
  if (live.length === 0 || live.some((p) => p.spec?.nodeName !== undefined)) return undefined;
  const condition = live
    .flatMap((p) => p.status?.conditions ?? [])
    .find((c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable");
  return condition ? (condition.message ?? "unschedulable") : undefined;
}
