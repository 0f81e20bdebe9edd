// What IoT Hub's twin queries read: an index of the device and module twins that may lag behind them.
// "Query results are eventually consistent operations and delays of up to 30 minutes should be
// tolerated. In most instances, twin query returns results in the order of a few seconds"
// (query-twins.md, "Twin query limitations"). The lag is counted in engine ticks (settings.ts,
// `queryLagTicks`); at 0 the index is the twins themselves. A device deleted from the registry
// disappears from a lagging index only when the lag has passed, as [3p, ROLLOUT.md H15] saw.
import type { DeviceRecord } from "./records.ts";
import { twinJson } from "./records.ts";
import type { Collection, TwinDocument } from "./twinQuery.ts";

interface Snapshot {
  readonly devices: readonly TwinDocument[];
  readonly modules: readonly TwinDocument[];
}

const byId = <T extends { deviceId: string }>(a: T, b: T) => a.deviceId.localeCompare(b.deviceId);

export class QueryIndex {
  private readonly registry: Map<string, DeviceRecord>;
  private readonly lag: () => number;
  private snapshots: Snapshot[] = [];

  constructor(registry: Map<string, DeviceRecord>, lag: () => number) {
    this.registry = registry;
    this.lag = lag;
  }

  /** The twins as they are now, devices in id order and each device's modules in id order. */
  live(collection: Collection): TwinDocument[] {
    const devices = [...this.registry.values()].sort(byId);
    if (collection === "devices") return devices.map((d) => twinJson(d) as TwinDocument);
    return devices.flatMap((d) =>
      [...d.modules.values()]
        .sort((a, b) => a.moduleId.localeCompare(b.moduleId))
        .map((m) => twinJson(d, m) as TwinDocument),
    );
  }

  /** One engine tick: remember the twins as they are, for a lagging index to show later. */
  tick(): void {
    const lag = this.lag();
    if (lag <= 0) {
      this.snapshots = [];
      return;
    }
    this.snapshots.push(structuredClone({ devices: this.live("devices"), modules: this.live("devices.modules") }));
    while (this.snapshots.length > lag + 1) this.snapshots.shift();
  }

  /** What a query sees now: the twins `lag` ticks ago (or as long ago as the index goes back). */
  view(collection: Collection): readonly TwinDocument[] {
    const snapshot = this.snapshots[Math.max(0, this.snapshots.length - 1 - this.lag())];
    if (this.lag() <= 0 || !snapshot) return this.live(collection);
    return collection === "devices" ? snapshot.devices : snapshot.modules;
  }
}
