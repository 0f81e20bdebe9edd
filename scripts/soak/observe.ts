import { setTimeout as sleep } from "node:timers/promises";
import type { KubeClient } from "../../agent/src/kube/client.ts";
import { Informer } from "../../agent/src/kube/informer.ts";
import type { KubeObject } from "../../agent/src/kube/objects.ts";
import { RESOURCES, type ResourceType } from "../../agent/src/kube/resources.ts";
import { isSubset } from "../../agent/src/reconcile/drift.ts";
import { silentLogger } from "../../agent/src/runtime/log.ts";
import { ANNOTATION, LABEL, MANAGED_BY } from "../../agent/src/translate/labels.ts";
import { type DeviceModel, desiredOf } from "./fleet.ts";
import type { FleetWriter } from "./fleetWriter.ts";
import type { Violation } from "./invariants.ts";

type Condition = { type: string; status: string; reason?: string };
type EdgeDeployment = KubeObject & { status?: { observedGeneration?: number; conditions?: Condition[] } };

/**
 * Every version of every EdgeDeployment as a reader watching them sees it: observedGeneration must
 * never go back (a reader in such a window would take an old generation for the observed one).
 */
export class GenerationWatch {
  readonly violations: Violation[] = [];
  private readonly last = new Map<string, number>();
  private readonly informer: Informer<EdgeDeployment>;
  private readonly abort = new AbortController();

  constructor(admin: KubeClient) {
    const seen = (o: EdgeDeployment) => {
      const key = `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
      const observed = o.status?.observedGeneration;
      if (observed === undefined) return;
      const before = this.last.get(key) ?? 0;
      if (observed < before)
        this.violations.push({
          invariant: "observedGeneration going backwards",
          detail: `${key}: ${before} → ${observed} at ${new Date().toISOString()}`,
        });
      this.last.set(key, Math.max(before, observed));
    };
    this.informer = new Informer<EdgeDeployment>(
      admin.with({ requestTimeoutMs: 10_000 }),
      RESOURCES.EdgeDeployment,
      {},
      { onUpsert: seen, onDelete: () => undefined },
      silentLogger,
    );
  }

  async start(): Promise<void> {
    void this.informer.run(this.abort.signal);
    await this.informer.waitForSync();
  }

  stop(): void {
    this.abort.abort();
  }
}

const managed = { labelSelector: `${LABEL.managedBy}=${MANAGED_BY}` };
const KINDS: readonly ResourceType[] = [
  RESOURCES.Deployment,
  RESOURCES.PersistentVolumeClaim,
  RESOURCES.Service,
  RESOURCES.ServiceAccount,
  RESOURCES.Secret,
];

/** The Deployment controller has acted on the current spec and every replica runs it (cluster side). */
function rolledOut(deployment: KubeObject): boolean {
  const spec = deployment["spec"] as { replicas?: number } | undefined;
  const status = deployment["status"] as
    | { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number }
    | undefined;
  const replicas = spec?.replicas ?? 1;
  if ((status?.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0)) return false;
  return (
    (status?.updatedReplicas ?? 0) === replicas &&
    (status?.availableReplicas ?? 0) >= replicas &&
    (status?.replicas ?? 0) === replicas
  );
}

const condition = (o: EdgeDeployment | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

export interface Convergence {
  /** What keeps the agent's work from being done: status behind the spec, objects missing, differing or left over. */
  readonly agent: string[];
  /** Valid devices not Ready (which also needs the cluster: scheduler, kwok's simulated kubelets). */
  readonly ready: string[];
}

/**
 * What keeps the fleet from having converged. Agent side: for every device the status has caught up
 * with the spec (observedGeneration; Degraded/InvalidManifest for an invalid spec), every object the
 * last valid spec wants exists with the fields the agent sets, and nothing it no longer wants is left
 * (claims that must be kept aside). Ready: every valid device says so.
 */
export async function convergence(
  admin: KubeClient,
  devices: readonly DeviceModel[],
  lastValid: ReadonlyMap<string, DeviceModel>,
): Promise<Convergence> {
  const [edgeDeployments, ...owned] = await Promise.all([
    admin.list<EdgeDeployment>(RESOURCES.EdgeDeployment),
    ...KINDS.map((type) => admin.list(type, managed)),
  ]);
  const live = new Map<string, KubeObject>();
  owned.forEach((list, i) => {
    for (const o of list.items)
      if (!o.metadata?.deletionTimestamp)
        live.set(`${o.metadata?.namespace ?? ""}/${KINDS[i]!.kind}/${o.metadata?.name ?? ""}`, o);
  });
  const byKey = new Map(
    edgeDeployments.items.map((o) => [`${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`, o]),
  );
  const problems: string[] = [];
  const ready: string[] = [];
  for (const device of devices) {
    const ns = device.namespace;
    const ed = byKey.get(`${ns}/${device.id}`);
    const generation = ed?.metadata?.generation;
    if (ed?.status?.observedGeneration !== generation) {
      problems.push(`${ns}: observedGeneration ${ed?.status?.observedGeneration ?? "-"} of ${generation ?? "-"}`);
      continue;
    }
    if (device.invalid) {
      if (condition(ed, "Degraded")?.reason !== "InvalidManifest") problems.push(`${ns}: not Degraded/InvalidManifest`);
    } else if (condition(ed, "Ready")?.status !== "True") ready.push(`${ns}: not Ready`);
    const model = device.invalid ? lastValid.get(ns) : device;
    if (!model) continue;
    const desired = desiredOf(model);
    for (const [ref, object] of desired.objects) {
      const current = live.get(`${ns}/${ref}`);
      if (!current) problems.push(`${ns}: ${ref} missing`);
      else if (object.kind === "Deployment" && !isSubset(object["spec"], current["spec"]))
        problems.push(`${ns}: ${ref} differs from the spec`);
      else if (object.kind === "Deployment" && !rolledOut(current)) ready.push(`${ns}: ${ref} rolling out`);
    }
    if (device.invalid) continue;
    for (const [key, object] of live) {
      if (!key.startsWith(`${ns}/`)) continue;
      const ref = key.slice(ns.length + 1);
      const keptClaim =
        object.kind === "PersistentVolumeClaim" && object.metadata?.annotations?.[ANNOTATION.pvcRetention] !== "Delete";
      if (!desired.objects.has(ref) && !keptClaim) problems.push(`${ns}: ${ref} not pruned`);
    }
  }
  return { agent: problems, ready };
}

export interface Converged {
  /** Agent side, from the fault clearing; undefined when not within the bound. */
  readonly agentMs: number | undefined;
  /** Every valid device Ready (needs the cluster too); undefined when not within the bound. */
  readonly readyMs: number | undefined;
  readonly problems: string[];
  /** What still differed after 15 s, to explain a slow convergence. */
  readonly slow: string[];
}

/** Polls until the fleet has converged, agent side within `agentBoundMs` and Ready within `readyBoundMs`. */
export async function waitConverged(
  fleet: FleetWriter,
  admin: KubeClient,
  agentBoundMs: number,
  readyBoundMs: number,
): Promise<Converged> {
  const start = Date.now();
  let agentMs: number | undefined;
  let problems: string[] = [];
  let slow: string[] = [];
  while (Date.now() - start < (agentMs === undefined ? agentBoundMs : readyBoundMs)) {
    const seen = await convergence(admin, fleet.devices, fleet.lastValidModels).catch((e: unknown) => ({
      agent: [`API: ${(e as Error).message}`],
      ready: [],
    }));
    if (seen.agent.length === 0) agentMs ??= Date.now() - start;
    problems = [...seen.agent, ...seen.ready];
    if (problems.length === 0) return { agentMs, readyMs: Date.now() - start, problems, slow };
    if (slow.length === 0 && Date.now() - start > 15_000) slow = problems;
    await sleep(500);
  }
  return { agentMs, readyMs: undefined, problems, slow };
}
