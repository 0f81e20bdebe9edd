import { type Expr, parseCondition } from "./condition.ts";
import { type JsonValue, matches } from "./evaluate.ts";
import { type Configuration, resolveDevice } from "./merge.ts";
import { canonicalJson } from "../runtime/canonical.ts";
import { compareText } from "../runtime/canonical.ts";

/**
 * The release engine's pure core: IoT Hub's deployment engine for a local stack. Given every release
 * (EdgeRelease) and every device (its tags and its EdgeDeployment), it says which releases target and
 * which apply to each device, and what each device's EdgeDeployment spec must become.
 *
 * IoT Hub's rules it follows (module-deployment-monitoring.md, how-to-deploy-at-scale.md):
 * - targeting is continuous: a device that comes to match a release gets it, one that stops matching
 *   takes the next highest-priority release;
 * - a device that no release targets any more keeps running what it has ("no change … continues
 *   running its current modules"), so the engine writes nothing for it;
 * - every change of the desired document bumps the device's desired version, a rollback included.
 */
export interface Release extends Configuration {
  /** The IoT Hub target condition; "" targets nothing. */
  readonly targetCondition: string;
}

export interface Device {
  readonly deviceId: string;
  /** EdgeDeployment key, `namespace/name`. */
  readonly key: string;
  readonly tags: Readonly<Record<string, JsonValue>>;
  readonly desiredVersion: number | undefined;
  readonly edgeAgent: JsonValue | undefined;
  readonly edgeHub: JsonValue | undefined;
}

export interface DeviceUpdate {
  readonly key: string;
  readonly deviceId: string;
  readonly desiredVersion: number;
  readonly edgeAgent: JsonValue;
  readonly edgeHub: JsonValue | undefined;
}

export interface ReleaseOutcome {
  readonly applied: readonly string[];
  readonly targeted: readonly string[];
  /** Set when the target condition does not parse: the release targets nothing. */
  readonly conditionError?: string;
}

export interface EnginePlan {
  readonly updates: readonly DeviceUpdate[];
  /** Release id → the device ids it applies to and the ones it only targets, sorted. */
  readonly releases: ReadonlyMap<string, ReleaseOutcome>;
}

/** The twin the hub evaluates target conditions against, as far as a local stack has one. */
export function deviceTwin(device: Pick<Device, "deviceId" | "tags">): JsonValue {
  return { deviceId: device.deviceId, tags: device.tags, capabilities: { iotEdge: true } };
}

function compile(releases: readonly Release[]): Map<string, Expr | string> {
  const compiled = new Map<string, Expr | string>();
  for (const release of releases) {
    if (release.targetCondition.trim() === "") continue;
    const parsed = parseCondition(release.targetCondition);
    compiled.set(
      release.id,
      parsed.ok ? parsed.expr : `targetCondition: ${parsed.error.message} at character ${parsed.error.position + 1}`,
    );
  }
  return compiled;
}

/**
 * Canonical texts of documents already seen. Inputs are immutable JSON (the watch cache replaces an
 * object on every change), so a document's text is computed once, not on every evaluation.
 */
const canonicalTexts = new WeakMap<object, string>();

function canonical(value: JsonValue | undefined): string {
  if (value === null || value === undefined || typeof value !== "object") return canonicalJson(value ?? null);
  let text = canonicalTexts.get(value);
  if (text === undefined) {
    text = canonicalJson(value);
    canonicalTexts.set(value, text);
  }
  return text;
}

/** What a set of targeting releases resolves to; devices targeted by the same set share it. */
interface Resolved {
  readonly resolution: ReturnType<typeof resolveDevice>;
  readonly edgeAgent: string;
  readonly edgeHub: string;
}

export function planReleases(releases: readonly Release[], devices: readonly Device[]): EnginePlan {
  const conditions = compile(releases);
  const outcome = new Map(releases.map((r) => [r.id, { applied: [] as string[], targeted: [] as string[] }]));
  const updates: DeviceUpdate[] = [];
  const resolved = new Map<string, Resolved>();
  for (const device of [...devices].sort((a, b) => compareText(a.deviceId, b.deviceId))) {
    const twin = deviceTwin(device);
    const targeting = releases.filter((r) => {
      const condition = conditions.get(r.id);
      return condition !== undefined && typeof condition !== "string" && matches(condition, twin);
    });
    if (targeting.length === 0) continue;
    const set = targeting.map((r) => r.id).join("\n");
    let entry = resolved.get(set);
    if (entry === undefined) {
      const resolution = resolveDevice(targeting);
      const desired = resolution.desired;
      entry = { resolution, edgeAgent: canonical(desired["$edgeAgent"]), edgeHub: canonical(desired["$edgeHub"]) };
      resolved.set(set, entry);
    }
    const { resolution } = entry;
    for (const id of resolution.applied) outcome.get(id)!.applied.push(device.deviceId);
    for (const id of resolution.targeted) outcome.get(id)!.targeted.push(device.deviceId);
    const edgeAgent = resolution.desired["$edgeAgent"];
    if (edgeAgent === undefined) continue;
    const edgeHub = resolution.desired["$edgeHub"];
    if (entry.edgeAgent === canonical(device.edgeAgent) && entry.edgeHub === canonical(device.edgeHub)) continue;
    updates.push({
      key: device.key,
      deviceId: device.deviceId,
      desiredVersion: (device.desiredVersion ?? 0) + 1,
      edgeAgent,
      edgeHub,
    });
  }
  const releasesOutcome = new Map<string, ReleaseOutcome>();
  for (const release of releases) {
    const condition = conditions.get(release.id);
    const { applied, targeted } = outcome.get(release.id)!;
    releasesOutcome.set(release.id, {
      applied,
      targeted,
      ...(typeof condition === "string" ? { conditionError: condition } : {}),
    });
  }
  return { updates, releases: releasesOutcome };
}
