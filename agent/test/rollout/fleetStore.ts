// A release store over a simulated fleet, for the driver's unit tests: releases with a version that
// guards each write, devices with tags, and a deployment engine that evaluates target conditions
// with the shared evaluator — every `engineEvery` observations, to model IoT Hub's evaluation cycle
// and its query index lag — and devices whose agents act on what they are sent (or are offline,
// or crash on a release).
import { parseCondition } from "../../src/releases/condition.ts";
import { matches } from "../../src/releases/evaluate.ts";
import type { DeviceReport } from "../../src/rollout/classify.ts";
import { labelsWithStatus } from "../../src/rollout/labels.ts";
import type { ReleaseRecord } from "../../src/rollout/releases.ts";
import type { Observation } from "../../src/rollout/stateMachine.ts";
import {
  LostRace,
  type ObserveRequest,
  type ReleaseStore,
  type RolloutWrite,
  StoreError,
} from "../../src/rollout/store.ts";

export interface FakeDevice {
  readonly id: string;
  readonly tags: Record<string, unknown>;
  online: boolean;
  /** Releases whose modules crash after the 200 on this device. */
  crashOn: Set<string>;
  /** Releases this device refuses (lastDesiredStatus.code 500). */
  failOn: Set<string>;
  applied: string | undefined;
  desiredVersion: number;
  lastDesiredVersion: number | undefined;
  code: number | undefined;
  readyVersion: number | undefined;
  ready: boolean | undefined;
  readySince: string | undefined;
  heartbeat: string | undefined;
}

export function device(id: string, tags: Record<string, unknown>): FakeDevice {
  return {
    id,
    tags,
    online: true,
    crashOn: new Set(),
    failOn: new Set(),
    applied: undefined,
    desiredVersion: 0,
    lastDesiredVersion: undefined,
    code: undefined,
    readyVersion: undefined,
    ready: undefined,
    readySince: undefined,
    heartbeat: undefined,
  };
}

type Stored = { -readonly [K in keyof ReleaseRecord]: ReleaseRecord[K] } & { layer: boolean };

export class FleetStore implements ReleaseStore {
  readonly where = "the simulated fleet";
  readonly releases = new Map<string, Stored>();
  readonly devices: FakeDevice[] = [];
  /** The engine evaluates targets on every n-th observation (1: at once). */
  engineEvery = 1;
  /** An un-targeted layer stays applied on its devices until deleted (Azure/iotedge#7057). */
  stickyLayers = false;
  /** Called before each write: a test can change the release here, as another writer would. */
  beforeWrite: ((id: string) => void) | undefined;
  readonly writes: { id: string; change: RolloutWrite }[] = [];
  private observations = 0;
  private versionCounter = 0;
  private readonly now: () => Date;

  constructor(now: () => Date) {
    this.now = now;
  }

  addRelease(
    id: string,
    priority: number,
    targetCondition: string,
    labels: Record<string, string> = {},
    layer = false,
  ) {
    this.releases.set(id, {
      id,
      track: "factory",
      priority,
      targetCondition,
      labels: { "edgek8s.track": "factory", ...labels },
      lease: undefined,
      version: String(++this.versionCounter),
      layer,
    });
    this.evaluate();
  }

  /** Another writer changes a release (a person in the portal, a second driver). */
  touch(id: string): void {
    const r = this.releases.get(id);
    if (r) r.version = String(++this.versionCounter);
  }

  list(): Promise<ReleaseRecord[]> {
    return Promise.resolve([...this.releases.values()].map((r) => ({ ...r })));
  }

  read(id: string): Promise<ReleaseRecord | undefined> {
    const r = this.releases.get(id);
    return Promise.resolve(r ? { ...r } : undefined);
  }

  write(record: ReleaseRecord, change: RolloutWrite): Promise<ReleaseRecord> {
    this.beforeWrite?.(record.id);
    const live = this.releases.get(record.id);
    if (!live) return Promise.reject(new StoreError(`${record.id} not found`));
    if (live.version !== record.version) return Promise.reject(new LostRace("412 Precondition Failed"));
    this.writes.push({ id: record.id, change });
    live.labels = labelsWithStatus(live.labels, change.state, change.ring, change.since, change.reason);
    if (change.targetCondition !== undefined) live.targetCondition = change.targetCondition;
    live.lease = change.lease;
    live.version = String(++this.versionCounter);
    return Promise.resolve({ ...live });
  }

  remove(id: string): Promise<void> {
    this.releases.delete(id);
    return Promise.resolve();
  }

  /** The deployment engine: the highest-priority release whose condition matches wins the device. */
  evaluate(): void {
    const now = this.now().toISOString();
    for (const d of this.devices) {
      const twin = { deviceId: d.id, tags: d.tags, capabilities: { iotEdge: true } } as never;
      const targeting = [...this.releases.values()]
        .filter((r) => {
          if (this.stickyLayers && r.layer && r.targetCondition === "" && d.applied === r.id) return true;
          const parsed = r.targetCondition === "" ? undefined : parseCondition(r.targetCondition);
          return parsed?.ok === true && matches(parsed.expr, twin);
        })
        .sort((a, b) => b.priority - a.priority);
      const winner = targeting[0]?.id;
      if (winner === undefined || winner === d.applied) continue;
      d.applied = winner;
      d.desiredVersion++;
    }
    for (const d of this.devices) this.act(d, now);
  }

  /** A device's agent acts on its desired version when it is online. */
  private act(d: FakeDevice, now: string): void {
    if (!d.online) return;
    d.heartbeat = now;
    if (d.applied === undefined || d.lastDesiredVersion === d.desiredVersion) return;
    d.lastDesiredVersion = d.desiredVersion;
    d.code = d.failOn.has(d.applied) ? 500 : 200;
    d.readyVersion = d.desiredVersion;
    d.ready = !d.crashOn.has(d.applied);
    d.readySince = now;
  }

  private selected(condition: string): FakeDevice[] {
    const parsed = parseCondition(condition);
    if (!parsed.ok) throw new StoreError(`condition does not parse: ${condition}`);
    return this.devices.filter((d) =>
      matches(parsed.expr, { deviceId: d.id, tags: d.tags, capabilities: { iotEdge: true } } as never),
    );
  }

  observe(request: ObserveRequest): Promise<Observation> {
    if (++this.observations % this.engineEvery === 0) this.evaluate();
    else for (const d of this.devices) this.act(d, request.now.toISOString());
    const ring = this.selected(request.condition);
    const reports: DeviceReport[] = ring.map((d) => ({
      deviceId: d.id,
      appliedConfiguration: d.applied,
      desiredVersion: d.desiredVersion,
      lastDesiredVersion: d.lastDesiredVersion,
      code: d.code,
      readyVersion: d.readyVersion,
      ready: d.ready,
      readySince: d.readySince,
      heartbeat: d.heartbeat,
    }));
    return Promise.resolve({
      now: request.now,
      expected: ring.length,
      applied: ring.filter((d) => d.applied === request.candidate).length,
      reports: request.reports ? reports : [],
    });
  }

  count(condition: string): Promise<number> {
    return Promise.resolve(this.selected(condition).length);
  }

  preflight(conditions: readonly string[]): Promise<string[]> {
    return Promise.resolve(
      conditions.flatMap((c) => {
        const parsed = parseCondition(c);
        return parsed.ok ? [] : [`${c}: ${parsed.error.message}`];
      }),
    );
  }

  usage(): readonly string[] {
    return [`${this.observations} observations`];
  }

  close(): void {}
}
