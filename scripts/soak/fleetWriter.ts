import { setTimeout as sleep } from "node:timers/promises";
import type { KubeClient } from "../../agent/src/kube/client.ts";
import { type DeviceModel, desiredOf, edgeDeploymentOf } from "./fleet.ts";
import type { SpecVersion } from "./invariants.ts";
import type { Random } from "./random.ts";

const MANAGER = "platform-team";

/**
 * The platform team's side of the soak: it writes each device's EdgeDeployment (server-side apply,
 * as Pulumi or a person would) and remembers every spec it wrote with when, for the invariants.
 */
export class FleetWriter {
  readonly versions: SpecVersion[] = [];
  private readonly models = new Map<string, DeviceModel>();
  private readonly lastValid = new Map<string, DeviceModel>();
  private readonly admin: KubeClient;
  private readonly rng: Random;

  constructor(admin: KubeClient, rng: Random, devices: readonly DeviceModel[]) {
    this.admin = admin;
    this.rng = rng;
    for (const d of devices) this.models.set(d.namespace, d);
  }

  get devices(): DeviceModel[] {
    return [...this.models.values()];
  }

  get lastValidModels(): ReadonlyMap<string, DeviceModel> {
    return this.lastValid;
  }

  get invalid(): DeviceModel[] {
    return this.devices.filter((d) => d.invalid);
  }

  /** Writes one device's spec, retrying (bounded) while the API server is away. */
  async write(next: DeviceModel, timeoutMs = 90_000): Promise<void> {
    const sentAt = Date.now();
    const deadline = sentAt + timeoutMs;
    for (;;) {
      try {
        await this.admin.apply(edgeDeploymentOf(next), MANAGER);
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`writing ${next.namespace}: ${(error as Error).message}`, { cause: error });
        await sleep(500);
      }
    }
    this.versions.push({ namespace: next.namespace, sentAt, ackedAt: Date.now(), desired: desiredOf(next) });
    this.models.set(next.namespace, next);
    if (!next.invalid) this.lastValid.set(next.namespace, next);
  }

  async writeAll(): Promise<void> {
    await Promise.all(this.devices.map((d) => this.write(d)));
  }

  /** Spec churn: a new revision for `count` devices (invalid ones stay invalid), sometimes with or without `scratch`. */
  async churn(count: number): Promise<string[]> {
    const chosen = this.rng.sample(this.devices, count);
    for (const d of chosen)
      await this.write({
        ...d,
        revision: d.revision + 1,
        withScratch: this.rng.chance(0.3) ? !d.withScratch : d.withScratch,
      });
    return chosen.map((d) => d.id);
  }

  /** Breaks `count` valid devices' specs; at most `max` devices are invalid at once. */
  async breakSome(count: number, max: number): Promise<string[]> {
    const room = Math.max(0, max - this.invalid.length);
    const chosen = this.rng.sample(
      this.devices.filter((d) => !d.invalid),
      Math.min(count, room),
    );
    for (const d of chosen) await this.write({ ...d, invalid: true, revision: d.revision + 1 });
    return chosen.map((d) => d.id);
  }

  /** Fixes every invalid spec with a new valid revision. */
  async fixAll(): Promise<string[]> {
    const broken = this.invalid;
    for (const d of broken) await this.write({ ...d, invalid: false, revision: d.revision + 1 });
    return broken.map((d) => d.id);
  }
}
