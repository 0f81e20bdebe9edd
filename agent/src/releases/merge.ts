import type { JsonValue } from "./evaluate.ts";
import { compareText } from "../runtime/canonical.ts";

/**
 * What IoT Hub's deployment engine sends one device: the highest-priority standard (base) deployment
 * that targets it, with every targeting layered deployment merged on top in priority order.
 *
 * Rules, from IoT Edge's deployment docs (`articles/iot-edge/module-deployment-monitoring.md`,
 * `how-to-deploy-at-scale.md`, `how-to-deploy-cli-at-scale.md`; see ROLLOUT.md §A1):
 * - the highest priority base wins; on a tie the most recently created one; lower bases are "not
 *   applied, nor are they merged" (they are *Targeted*);
 * - layers must have a higher priority than the base they stack on; they address the module twins
 *   by dot paths (`properties.desired.modules.<id>`, `properties.desired.routes.<name>`), a path
 *   replaces what it names, and where two layers set the same path the higher priority wins;
 * - a value of `null` removes what the path names (twin patch semantics; the maintainers' advice in
 *   Azure/iotedge#7057 to remove a layered module is "set it to null").
 * A layer whose priority is not above the chosen base is reported Targeted, not applied: the limits
 * policy makes that impossible for edgek8s's own tracks (every layer band is above every base band).
 */
export type ModulesContent = Readonly<Record<string, Readonly<Record<string, JsonValue>>>>;
type JsonObject = { [key: string]: JsonValue };

export interface Configuration {
  readonly id: string;
  readonly priority: number;
  /** ISO 8601; breaks priority ties (newest wins). */
  readonly createdTimeUtc: string;
  readonly layer: boolean;
  readonly modulesContent: ModulesContent;
}

export interface DeviceResolution {
  /** The base and the layers merged into the result, in merge order. */
  readonly applied: readonly string[];
  /** Targeting configurations that lost (lower-priority bases, layers not above the base). */
  readonly targeted: readonly string[];
  /** Module twin id → merged `properties.desired`; empty when nothing applies. */
  readonly desired: Readonly<Record<string, JsonObject>>;
}

const DESIRED = "properties.desired";

/** IoT Hub has no layered flag; the Azure CLI calls a deployment layered when a module key goes below `properties.desired`. */
export function isLayeredContent(content: ModulesContent): boolean {
  return Object.values(content).some((twin) => Object.keys(twin).some((key) => key.startsWith(`${DESIRED}.`)));
}

function byPrecedence(a: Configuration, b: Configuration): number {
  return a.priority - b.priority || compareText(a.createdTimeUtc, b.createdTimeUtc) || compareText(a.id, b.id);
}

function clone(value: JsonValue): JsonValue {
  return structuredClone<JsonValue>(value);
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Sets (or, for null, removes) `value` at `segments` below `root`, creating objects on the way. */
function setPath(root: JsonObject, segments: readonly string[], value: JsonValue): void {
  let node = root;
  for (const segment of segments.slice(0, -1)) {
    const child = node[segment];
    if (!isObject(child)) {
      if (value === null) return;
      node[segment] = {};
    }
    node = node[segment] as JsonObject;
  }
  const last = segments.at(-1)!;
  if (value === null) Reflect.deleteProperty(node, last);
  else node[last] = clone(value);
}

function applyContent(desired: Record<string, JsonObject>, content: ModulesContent): void {
  for (const [twinId, paths] of Object.entries(content)) {
    for (const [path, value] of Object.entries(paths)) {
      if (path !== DESIRED && !path.startsWith(`${DESIRED}.`)) continue;
      if (path === DESIRED) {
        if (isObject(value)) desired[twinId] = clone(value) as JsonObject;
        else Reflect.deleteProperty(desired, twinId);
        continue;
      }
      const twin = (desired[twinId] ??= {});
      setPath(twin, path.slice(DESIRED.length + 1).split("."), value);
    }
  }
}

/** Resolves the configurations that target one device into what the device is sent. */
export function resolveDevice(targeting: readonly Configuration[]): DeviceResolution {
  const ordered = [...targeting].sort(byPrecedence);
  const bases = ordered.filter((c) => !c.layer);
  const base = bases.at(-1);
  const layers = ordered.filter((c) => c.layer && (base === undefined || c.priority > base.priority));
  const applied = [...(base ? [base] : []), ...layers];
  const appliedIds = new Set(applied.map((c) => c.id));
  const desired: Record<string, JsonObject> = {};
  for (const configuration of applied) applyContent(desired, configuration.modulesContent);
  return {
    applied: applied.map((c) => c.id),
    targeted: ordered.filter((c) => !appliedIds.has(c.id)).map((c) => c.id),
    desired,
  };
}
