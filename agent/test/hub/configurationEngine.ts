// IoT Hub's deployment engine, driven by ticks (one tick ≈ one minute): it targets devices, merges a
// base and its layers, writes the result into the module twins, marks each `$edgeAgent` twin with
// the deployments that target it, and counts the metrics. Sources, per behaviour (ROLLOUT.md §A1):
//   - cadence: "Automatic configurations run for the first time shortly after the configuration is
//     created and then at five minute intervals. Metrics queries run each time the automatic
//     configuration runs" (iot-hub-automatic-device-management.md); a create, update or delete runs at
//     the next tick ("some operations … force an immediate re-eval", Azure/iotedge#5721); a tag change
//     waits for the next periodic run;
//   - targeting is the hub's own query, the condition spliced in as captured
//     (`select deviceId from devices where capabilities.iotEdge = true and <condition>`), over the query
//     index, so it lags with it (queryIndex.ts); "" targets nothing;
//   - merge and precedence: agent/src/releases/merge.ts `resolveDevice`, shared with the local engine;
//   - the module twins get the merged document as their whole desired properties, `$version` rises on
//     every change, "even a rollback", and connected modules are notified with the whole document
//     (device twins doc: "the same form of update … executed by the solution back end"); a module twin
//     whose identity does not exist yet is left for a later run, which gives it its part of the same
//     deployments once the identity exists (the edge agent creates user module identities after it
//     reads `$edgeAgent`, Azure/iotedge ModuleIdentityLifecycleManager.cs, and targeting "is
//     continuously evaluated", module-deployment-monitoring.md), without rewriting the twins that
//     already have theirs;
//   - `configurations.<id>.status` on `$edgeAgent`: Applied when merged in, Targeted when matched but
//     outranked (Azure/iotedge doc/reported_states_during_deployment.md), and a layer without
//     `$edgeAgent` content shows Targeted, not Applied (how-to-deploy-cli-at-scale.md; Azure/iotedge#5023);
//   - a device no deployment targets any more keeps what it has: "continues running its current modules"
//     (module-deployment-monitoring.md); a deleted deployment makes devices "take on their next highest
//     priority deployment"; an un-targeted layer follows the `layerUntarget` switch (settings.ts);
//   - metrics: the system queries (configurations.ts `systemMetricQueries`) and the custom ones;
//     "The metric represents the number of rows returned by the query" (how-to-deploy-at-scale.md).
import { type Expr, parseCondition } from "../../src/releases/condition.ts";
import { type JsonValue, isJsonObject, matches } from "../../src/releases/evaluate.ts";
import { type Configuration, type ModulesContent, isLayeredContent, resolveDevice } from "../../src/releases/merge.ts";
import { canonicalJson } from "../../src/runtime/canonical.ts";
import { systemMetricQueries } from "./configurations.ts";
import type { HubState } from "./hubState.ts";
import type { ConfigurationRecord, DeviceRecord } from "./records.ts";
import { parseTwinQuery, runTwinQuery } from "./twinQuery.ts";

export interface EngineHost extends HubState {
  writeDesired(
    deviceId: string,
    moduleId: string,
    content: Record<string, unknown>,
    options: { replace: boolean },
  ): number;
}

interface Deployment extends Configuration {
  readonly target: Expr | undefined;
}

function deploymentOf(c: ConfigurationRecord): Deployment | undefined {
  const content = c.content["modulesContent"];
  if (!isJsonObject(content as JsonValue)) return undefined;
  const modulesContent = content as ModulesContent;
  const parsed =
    c.targetCondition.trim() === ""
      ? undefined
      : parseCondition(`capabilities.iotEdge = true and ${c.targetCondition}`);
  return {
    id: c.id,
    priority: c.priority,
    createdTimeUtc: c.createdTimeUtc,
    layer: isLayeredContent(modulesContent),
    modulesContent,
    target: parsed?.ok ? parsed.expr : undefined,
  };
}

function withoutVersion(desired: Record<string, unknown>): JsonValue {
  return Object.fromEntries(Object.entries(desired).filter(([key]) => key !== "$version")) as JsonValue;
}

const agentPaths = (d: Deployment) => Object.keys(d.modulesContent["$edgeAgent"] ?? {}).length;

export class ConfigurationEngine {
  private readonly hub: EngineHost;
  private readonly advanceIndex: () => void;
  private ticks = 0;
  private due = false;
  /**
   * Per device, the deployments (in merge order) whose content its module twins were last given, and
   * the module twins that existed to be given it.
   */
  private readonly applied = new Map<string, { readonly ids: string; readonly modules: readonly string[] }>();
  /** Evaluations run so far. */
  evaluations = 0;
  /** Documents the hub could not write (a merged document over a twin limit), with why. */
  readonly problems: string[] = [];

  constructor(hub: EngineHost, advanceIndex: () => void) {
    this.hub = hub;
    this.advanceIndex = advanceIndex;
  }

  /** A configuration was created, changed or deleted: evaluate at the next tick. */
  changed(): void {
    this.due = true;
  }

  /** Advances the engine's clock by `count` ticks; evaluates when a change is pending or the interval has come. */
  tick(count = 1): void {
    for (let i = 0; i < count; i++) {
      this.ticks++;
      this.advanceIndex();
      if (this.due || this.ticks % this.hub.settings.evaluationIntervalTicks === 0) {
        this.due = false;
        this.evaluate();
      }
    }
  }

  private evaluate(): void {
    this.evaluations++;
    const deployments = [...this.hub.configurations.values()]
      .map(deploymentOf)
      .filter((d): d is Deployment => d !== undefined);
    for (const twin of this.hub.queryDocuments("devices")) {
      const id = twin["deviceId"];
      const device = typeof id === "string" ? this.hub.devices.get(id) : undefined;
      if (device) this.evaluateDevice(device, twin, deployments);
    }
    this.countMetrics();
  }

  private evaluateDevice(device: DeviceRecord, twin: JsonValue, deployments: readonly Deployment[]): void {
    const targeting = deployments.filter((d) => d.target !== undefined && matches(d.target, twin));
    const resolution = resolveDevice(targeting);
    const agent = device.modules.get("$edgeAgent");
    if (!agent) return;
    const statuses: Record<string, { status: "Applied" | "Targeted" }> = {};
    for (const id of resolution.targeted) statuses[id] = { status: "Targeted" };
    for (const id of resolution.applied) {
      const d = targeting.find((t) => t.id === id)!;
      statuses[id] = { status: d.layer && agentPaths(d) === 0 ? "Targeted" : "Applied" };
    }
    if (Object.keys(statuses).length > 0) agent.twin.configurations = statuses;
    else Reflect.deleteProperty(agent.twin, "configurations");
    if (resolution.applied.length === 0) return;
    const ids = canonicalJson(resolution.applied);
    const present = Object.keys(resolution.desired).filter((m) => device.modules.has(m));
    const before = this.applied.get(device.deviceId);
    this.applied.set(device.deviceId, { ids, modules: present });
    if (before?.ids === ids) {
      // Same deployments: only module twins whose identity appeared since get their part.
      this.write(
        device,
        resolution.desired,
        present.filter((m) => !before.modules.includes(m)),
      );
      return;
    }
    if (before !== undefined && this.keepsUntargetedLayer(JSON.parse(before.ids) as string[], resolution.applied))
      return;
    this.write(device, resolution.desired, present);
  }

  private write(device: DeviceRecord, merged: Readonly<Record<string, JsonValue>>, moduleIds: readonly string[]): void {
    for (const moduleId of moduleIds) {
      const module = device.modules.get(moduleId);
      const desired = merged[moduleId] as Record<string, unknown>;
      if (!module || canonicalJson(withoutVersion(module.twin.desired)) === canonicalJson(desired)) continue;
      try {
        this.hub.writeDesired(device.deviceId, moduleId, desired, { replace: true });
      } catch (error) {
        this.problems.push(`${device.deviceId}/${moduleId}: ${(error as Error).message}`);
      }
    }
  }

  /** `layerUntarget: keep`: only layers that still exist stopped matching, so the hub leaves the twins alone (#7057). */
  private keepsUntargetedLayer(before: readonly string[], now: readonly string[]): boolean {
    if (this.hub.settings.layerUntarget !== "keep") return false;
    const dropped = before.filter((id) => !now.includes(id));
    const added = now.filter((id) => !before.includes(id));
    return (
      added.length === 0 &&
      dropped.length > 0 &&
      dropped.every((id) => {
        const c = this.hub.configurations.get(id);
        return c !== undefined && deploymentOf(c)?.layer === true;
      })
    );
  }

  private count(query: string): number {
    if (query.trim() === "") return 0;
    try {
      const parsed = parseTwinQuery(query, this.hub.settings.groupByOnModules);
      return runTwinQuery(parsed, this.hub.queryDocuments(parsed.collection)).length;
    } catch {
      return 0;
    }
  }

  private countMetrics(): void {
    for (const c of this.hub.configurations.values()) {
      const system = systemMetricQueries(c.id, c.targetCondition);
      c.systemMetricResults = Object.fromEntries(Object.entries(system).map(([k, q]) => [k, this.count(q)]));
      c.metricResults = Object.fromEntries(Object.entries(c.metrics).map(([k, q]) => [k, this.count(q)]));
    }
  }
}
