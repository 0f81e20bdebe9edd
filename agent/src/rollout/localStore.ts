import { parseCondition, targetConditionProblem } from "../releases/condition.ts";
import { deviceTwin } from "../releases/engine.ts";
import { type JsonValue, matches } from "../releases/evaluate.ts";
import { tagsFromNamespace } from "../releases/observed.ts";
import type { EdgeDeploymentStatus } from "../crd/edgeDeployment.ts";
import type { EdgeReleaseStatus } from "../crd/edgeRelease.ts";
import { type KubeClient, KubeError } from "../kube/client.ts";
import type { KubeObject } from "../kube/objects.ts";
import { RESOURCES } from "../kube/resources.ts";
import type { DeviceReport } from "./classify.ts";
import { type Lease, isRolloutLabel, labelsWithStatus } from "./labels.ts";
import type { ReleaseRecord } from "./releases.ts";
import type { Observation } from "./stateMachine.ts";
import { LostRace, type ObserveRequest, type ReleaseStore, type RolloutWrite, StoreError } from "./store.ts";

/**
 * The releases of a local stack: EdgeReleases in the cluster, which the agent's release engine
 * treats as IoT Hub treats configurations, and the devices' EdgeDeployments as their twins (spec:
 * desired, status: reported). Writes are server-side applies as `edgek8s-rollout` of only the
 * fields the rollout owns (the target condition and the rollout labels in `spec.labels`), guarded by
 * the resourceVersion the driver read; the lease is kept in annotations, which do not move the
 * object's generation (the release engine re-evaluates on spec changes only).
 */
export const ROLLOUT_MANAGER = "edgek8s-rollout";
const ANNOTATION = {
  holder: "edgek8s.io/rollout-driver",
  renewed: "edgek8s.io/rollout-renewed",
  /**
   * The generation the target condition last changed at: the release engine's status (its Applied
   * list) describes the current target once its observedGeneration reaches it. Label-only writes move
   * the generation too, without making an older status wrong.
   */
  targetGeneration: "edgek8s.io/target-generation",
} as const;

type ReleaseObject = KubeObject & {
  spec?: { track?: string; priority?: number; targetCondition?: string; labels?: Record<string, string> };
  status?: EdgeReleaseStatus;
};
type DeploymentObject = KubeObject & {
  spec?: { deviceId?: string; desiredVersion?: number };
  status?: EdgeDeploymentStatus;
};

interface Device {
  readonly deviceId: string;
  readonly twin: JsonValue;
  readonly object: DeploymentObject;
}

function recordOf(object: ReleaseObject): ReleaseRecord {
  const annotations = object.metadata?.annotations ?? {};
  const holder = annotations[ANNOTATION.holder];
  const renewed = annotations[ANNOTATION.renewed];
  const lease: Lease | undefined = holder !== undefined && renewed !== undefined ? { holder, renewed } : undefined;
  return {
    id: object.metadata?.name ?? "",
    track: object.spec?.track,
    priority: object.spec?.priority ?? 0,
    targetCondition: object.spec?.targetCondition ?? "",
    labels: object.spec?.labels ?? {},
    lease,
    version: object.metadata?.resourceVersion ?? "",
  };
}

/** The release's Applied devices, when its status describes its current target; else none yet. */
function appliedDevices(object: ReleaseObject | undefined): Set<string> {
  if (!object) return new Set();
  const since = Number(object.metadata?.annotations?.[ANNOTATION.targetGeneration] ?? 0);
  const observed = object.status?.observedGeneration ?? -1;
  return observed >= since ? new Set(object.status?.applied ?? []) : new Set();
}

function reportOf(device: Device, applied: ReadonlySet<string>, judged: string): DeviceReport {
  const { spec, status } = device.object;
  const readiness = status?.readiness;
  return {
    deviceId: device.deviceId,
    appliedConfiguration: applied.has(device.deviceId) ? judged : undefined,
    desiredVersion: spec?.desiredVersion ?? 0,
    lastDesiredVersion: status?.desiredVersion,
    code: status?.lastDesiredStatus?.code,
    ...(status?.lastDesiredStatus?.description ? { description: status.lastDesiredStatus.description } : {}),
    readyVersion: readiness?.readyVersion,
    ready: readiness?.ready,
    readySince: readiness?.readySince,
    // The device's agent refreshes it in the status (its heartbeat interval); an agent that stopped
    // leaves it to go stale, and the device counts as unreachable.
    heartbeat: status?.heartbeat,
  };
}

export class LocalStore implements ReleaseStore {
  readonly where: string;
  private readonly client: KubeClient;
  private readonly objects = new Map<string, ReleaseObject>();
  private calls = 0;

  constructor(client: KubeClient, clusterName: string) {
    this.client = client;
    this.where = `cluster ${clusterName}`;
  }

  async list(): Promise<ReleaseRecord[]> {
    this.calls++;
    const { items } = await this.client.list<ReleaseObject>(RESOURCES.EdgeRelease);
    for (const item of items) this.objects.set(item.metadata?.name ?? "", item);
    return items.map(recordOf);
  }

  async read(id: string): Promise<ReleaseRecord | undefined> {
    this.calls++;
    const object = await this.client.get<ReleaseObject>(RESOURCES.EdgeRelease, undefined, id);
    if (!object) return undefined;
    this.objects.set(id, object);
    return recordOf(object);
  }

  async write(record: ReleaseRecord, change: RolloutWrite): Promise<ReleaseRecord> {
    const object = this.objects.get(record.id);
    if (!object) throw new StoreError(`${record.id} was not read before it is written`);
    const labels = labelsWithStatus(record.labels, change.state, change.ring, change.since, change.reason);
    const owned = Object.fromEntries(Object.entries(labels).filter(([key]) => isRolloutLabel(key)));
    const annotations = object.metadata?.annotations ?? {};
    const targetMoves = change.targetCondition !== undefined && change.targetCondition !== record.targetCondition;
    const applied: KubeObject = {
      apiVersion: RESOURCES.EdgeRelease.apiVersion,
      kind: RESOURCES.EdgeRelease.kind,
      metadata: {
        name: record.id,
        resourceVersion: record.version,
        annotations: {
          [ANNOTATION.targetGeneration]: targetMoves
            ? String((object.metadata?.generation ?? 0) + 1)
            : (annotations[ANNOTATION.targetGeneration] ?? "0"),
          ...(change.lease
            ? { [ANNOTATION.holder]: change.lease.holder, [ANNOTATION.renewed]: change.lease.renewed }
            : {}),
        },
      },
      spec: { targetCondition: change.targetCondition ?? record.targetCondition, labels: owned },
    };
    this.calls++;
    try {
      const written = await this.client.apply<ReleaseObject>(applied, ROLLOUT_MANAGER);
      this.objects.set(record.id, written);
      return recordOf(written);
    } catch (error) {
      if (error instanceof KubeError && error.status === 409) throw new LostRace(`409 ${error.message}`);
      throw error;
    }
  }

  async remove(id: string): Promise<void> {
    this.calls++;
    await this.client.delete(RESOURCES.EdgeRelease, undefined, id);
  }

  private async devices(): Promise<Device[]> {
    this.calls += 2;
    const [deployments, namespaces] = await Promise.all([
      this.client.list<DeploymentObject>(RESOURCES.EdgeDeployment),
      this.client.list(RESOURCES.Namespace),
    ]);
    const byName = new Map(namespaces.items.map((n) => [n.metadata?.name ?? "", n]));
    const devices: Device[] = [];
    for (const object of deployments.items) {
      const deviceId = object.spec?.deviceId;
      if (typeof deviceId !== "string" || object.metadata?.deletionTimestamp !== undefined) continue;
      // Tags that cannot be read count as none here (the release engine leaves such a device alone).
      const read = tagsFromNamespace(byName.get(object.metadata?.namespace ?? ""));
      const tags = "tags" in read ? read.tags : {};
      devices.push({ deviceId, twin: deviceTwin({ deviceId, tags }), object });
    }
    return devices;
  }

  private async selected(condition: string): Promise<Device[]> {
    if (condition.trim() === "") return [];
    const parsed = parseCondition(condition);
    if (!parsed.ok) throw new StoreError(`condition ${condition}: ${parsed.error.message}`);
    return (await this.devices()).filter((d) => matches(parsed.expr, d.twin));
  }

  async observe(request: ObserveRequest): Promise<Observation> {
    const ring = await this.selected(request.condition);
    const releases = await this.client.list<ReleaseObject>(RESOURCES.EdgeRelease);
    this.calls++;
    const byName = new Map(releases.items.map((r) => [r.metadata?.name ?? "", r]));
    const candidateApplied = appliedDevices(byName.get(request.candidate));
    const judgedApplied = appliedDevices(byName.get(request.judged));
    return {
      now: request.now,
      expected: ring.length,
      applied: ring.filter((d) => candidateApplied.has(d.deviceId)).length,
      reports: request.reports ? ring.map((d) => reportOf(d, judgedApplied, request.judged)) : [],
    };
  }

  async count(condition: string): Promise<number> {
    return (await this.selected(condition)).length;
  }

  preflight(conditions: readonly string[]): Promise<string[]> {
    return Promise.resolve(
      conditions.flatMap((c) => {
        const problem = targetConditionProblem(c);
        return problem === undefined ? [] : [`condition ${c}: ${problem}`];
      }),
    );
  }

  usage(): readonly string[] {
    return [`${this.calls} Kubernetes API calls`];
  }

  close(): void {
    this.client.close();
  }
}
