import { parseCondition, targetConditionProblem } from "./condition.ts";
import { type JsonValue, isJsonObject, matches } from "./evaluate.ts";
import { type Configuration, type ModulesContent, resolveDevice } from "./merge.ts";
import { configurationIdProblem, deviceBucket, labelProblem, releaseId } from "./naming.ts";
import { MAX_BASE_TRACKS, MAX_LAYER_TRACKS } from "./priority.ts";
import { TWIN_LIMITS, documentSize, twinDocumentProblems } from "./twinSize.ts";
import { BUCKET_PATH, type RolloutPlan } from "../rollout/plan.ts";

/**
 * IoT Hub's limits, checked before anything is created (ROLLOUT.md §B6): `pulumi preview` fails with
 * every problem listed, each naming the stack key it comes from. Sources: IoT Hub quotas and
 * throttling (`iot-hub-devguide-quotas-throttling.md`), IoT Edge limits
 * (`iot-edge-limits-and-restrictions.md`: 50 modules per deployment), automatic device management
 * (`iot-hub-automatic-device-management.md`: 100 configurations per hub, 5 custom metrics, 10 on the
 * Free tier), the twin rules in `twinSize.ts` and the layering rules in `merge.ts`.
 */
export interface TrackLimitsInput {
  readonly name: string;
  readonly layer: boolean;
  readonly target: string;
  readonly retain: number;
  readonly metrics: Readonly<Record<string, string>>;
  readonly modulesContent: ModulesContent;
}

export interface DeviceLimitsInput {
  readonly deviceId: string;
  readonly tags: Readonly<Record<string, JsonValue>>;
  /** The device also gets a manifest of its own (`devices.<id>.manifest`). */
  readonly ownManifest: boolean;
}

export interface LimitsInput {
  readonly tracks: readonly TrackLimitsInput[];
  readonly devices: readonly DeviceLimitsInput[];
  /** Hub tier and units; undefined for a local stack (hub mode none), where IoT Hub's budgets do not apply. */
  readonly hub?: { readonly sku: "F1" | "S1" | "S2" | "S3"; readonly units: number };
  readonly plan: RolloutPlan;
  /** `<project>.<stack>`, written as the `edgek8s.stack` label. */
  readonly stackLabel: string;
}

export interface LimitsProblem {
  readonly key: string;
  readonly message: string;
  readonly severity: "error" | "warning";
}

/** Custom metrics edgek8s writes on every release (`ek8sHealthy`, `ek8sFailed`). */
export const RESERVED_METRICS = 2;
const MAX_METRICS = 5;
const MAX_MODULES = 50;
const QUERIES_PER_POLL = 4;
const DESIRED = "properties.desired";
const MODULE_PATH = `${DESIRED}.modules.`;
const ROUTE_PATH = `${DESIRED}.routes.`;

/** Tags as IoT Hub will hold them: the stack's tags plus the rollout bucket. */
export function deviceTags(deviceId: string, tags: Readonly<Record<string, JsonValue>>): Record<string, JsonValue> {
  const own = isJsonObject(tags["edgek8s"]) ? tags["edgek8s"] : {};
  return { ...tags, edgek8s: { ...own, bucket: deviceBucket(deviceId) } };
}

/** Module ids a release defines: a base's `modules` keys, a layer's `properties.desired.modules.<id>` paths. */
export function releaseModuleIds(content: ModulesContent, layer: boolean): string[] {
  const agent = content["$edgeAgent"] ?? {};
  if (!layer) {
    const desired = agent[DESIRED];
    const modules = isJsonObject(desired) ? desired["modules"] : undefined;
    return isJsonObject(modules) ? Object.keys(modules) : [];
  }
  return Object.keys(agent)
    .filter((path) => path.startsWith(MODULE_PATH))
    .map((path) => path.slice(MODULE_PATH.length).split(".")[0]!);
}

function routeNames(content: ModulesContent): string[] {
  return Object.keys(content["$edgeHub"] ?? {})
    .filter((path) => path.startsWith(ROUTE_PATH))
    .map((path) => path.slice(ROUTE_PATH.length).split(".")[0]!);
}

function layerProblems(track: TrackLimitsInput): string[] {
  const problems: string[] = [];
  const agent = track.modulesContent["$edgeAgent"];
  if (agent === undefined) problems.push(`a layered deployment must contain $edgeAgent (at least {})`);
  for (const [twinId, paths] of Object.entries(track.modulesContent)) {
    for (const path of Object.keys(paths)) {
      if (path === DESIRED && (twinId === "$edgeAgent" || twinId === "$edgeHub")) {
        problems.push(`${twinId} sets the whole properties.desired, which is a base deployment, not a layer`);
      } else if (twinId === "$edgeAgent" && path === `${DESIRED}.modules`) {
        problems.push(
          `$edgeAgent sets properties.desired.modules whole, which replaces the base's modules; set properties.desired.modules.<id> for each module`,
        );
      } else if (
        twinId === "$edgeAgent" &&
        (path.startsWith(`${DESIRED}.systemModules`) || path.startsWith(`${DESIRED}.runtime`))
      ) {
        problems.push(
          `a layer may not change ${path.slice(DESIRED.length + 1)} (system modules and runtime belong to the base)`,
        );
      }
    }
  }
  if (agent !== undefined && releaseModuleIds(track.modulesContent, true).length === 0) {
    problems.push(
      `the layer sets no $edgeAgent properties.desired.modules.<id>, so IoT Hub never reports it Applied and rollout gates cannot see it (Azure/iotedge#5023)`,
    );
  }
  return problems;
}

function overlap(a: string, b: string, devices: readonly DeviceLimitsInput[]): string[] {
  const ca = parseCondition(a);
  const cb = parseCondition(b);
  if (!ca.ok || !cb.ok) return [];
  return devices
    .filter((d) => {
      const twin = { deviceId: d.deviceId, tags: deviceTags(d.deviceId, d.tags), capabilities: { iotEdge: true } };
      return matches(ca.expr, twin) && matches(cb.expr, twin);
    })
    .map((d) => d.deviceId);
}

export function limitsProblems(input: LimitsInput): LimitsProblem[] {
  const out: LimitsProblem[] = [];
  const error = (key: string, message: string) => out.push({ key, message, severity: "error" });
  const warn = (key: string, message: string) => out.push({ key, message, severity: "warning" });
  const trackKey = (name: string) => `edgek8s:tracks.${name}`;

  const labelIssue = labelProblem(input.stackLabel);
  if (labelIssue) error("edgek8s:tracks", `the stack label "${input.stackLabel}" (project.stack): ${labelIssue}`);

  const bases = input.tracks.filter((t) => !t.layer);
  const layers = input.tracks.filter((t) => t.layer);
  if (bases.length > MAX_BASE_TRACKS)
    error("edgek8s:tracks", `at most ${MAX_BASE_TRACKS} base tracks (priority bands); found ${bases.length}`);
  if (layers.length > MAX_LAYER_TRACKS)
    error("edgek8s:tracks", `at most ${MAX_LAYER_TRACKS} layer tracks; found ${layers.length}`);

  if (input.hub) {
    const cap = input.hub.sku === "F1" ? 10 : 100;
    const needed = input.tracks.reduce((sum, t) => sum + 1 + t.retain + 1, 0);
    if (needed > cap) {
      error(
        "edgek8s:tracks",
        `tracks × (stable + retain + 1 in flight) need ${needed} deployments; IoT Hub ${input.hub.sku} allows ${cap}`,
      );
    }
  }

  for (const track of input.tracks) {
    const key = trackKey(track.name);
    const idProblem = configurationIdProblem(releaseId(track.name, {}));
    if (idProblem) error(key, `release ids would be invalid: ${idProblem}`);
    const targetProblem = targetConditionProblem(track.target);
    if (targetProblem) error(`${key}.target`, targetProblem);
    const metricCount = Object.keys(track.metrics).length + RESERVED_METRICS;
    if (metricCount > MAX_METRICS) {
      error(
        `${key}.metrics`,
        `${Object.keys(track.metrics).length} custom metrics + edgek8s's ${RESERVED_METRICS} exceed IoT Hub's ${MAX_METRICS}`,
      );
    }
    for (const [name, query] of Object.entries(track.metrics)) {
      if (!/^[A-Za-z0-9_]{1,128}$/.test(name))
        error(`${key}.metrics.${name}`, "metric names are letters, digits and '_'");
      if (!/^\s*select\s+deviceid\s+from\s+devices(\.modules)?(\s+where\s+)/i.test(query)) {
        error(`${key}.metrics.${name}`, "expected SELECT deviceId FROM devices[.modules] WHERE <condition>");
      } else {
        const condition = query.replace(/^\s*select\s+deviceid\s+from\s+devices(\.modules)?\s+where\s+/i, "");
        const parsed = parseCondition(condition);
        if (!parsed.ok) error(`${key}.metrics.${name}`, `${parsed.error.message} in the WHERE clause`);
      }
    }
    const modules = releaseModuleIds(track.modulesContent, track.layer);
    if (modules.length > MAX_MODULES)
      error(`${key}.manifest`, `${modules.length} modules; IoT Hub allows ${MAX_MODULES} per deployment`);
    if (track.layer) for (const message of layerProblems(track)) error(`${key}.manifest`, message);
    for (const [twinId, paths] of Object.entries(track.modulesContent)) {
      for (const problem of twinDocumentProblems(paths, { allowDottedKeysAtRoot: true })) {
        error(`${key}.manifest`, `${twinId}.${problem.path}: ${problem.message}`);
      }
    }
  }

  // Layers that can meet on one device may not define the same module or route; bases may not overlap.
  for (const [i, a] of input.tracks.entries()) {
    for (const b of input.tracks.slice(i + 1)) {
      if (a.layer !== b.layer) continue;
      const shared = overlap(a.target, b.target, input.devices);
      if (shared.length === 0) continue;
      if (!a.layer) {
        error(
          `${trackKey(b.name)}.target`,
          `base tracks ${a.name} and ${b.name} both target ${shared.slice(0, 3).join(", ")}; IoT Hub applies only one base per device — make the targets disjoint`,
        );
        continue;
      }
      const modules = releaseModuleIds(a.modulesContent, true).filter((m) =>
        releaseModuleIds(b.modulesContent, true).includes(m),
      );
      const routes = routeNames(a.modulesContent).filter((r) => routeNames(b.modulesContent).includes(r));
      if (modules.length + routes.length > 0) {
        error(
          `${trackKey(b.name)}.manifest`,
          `layers ${a.name} and ${b.name} both define ${[...modules.map((m) => `module ${m}`), ...routes.map((r) => `route ${r}`)].join(", ")} and both target ${shared.slice(0, 3).join(", ")}`,
        );
      }
    }
  }

  // Per configured device: what it would be sent, its size, and double ownership.
  for (const device of input.devices) {
    const tags = deviceTags(device.deviceId, device.tags);
    const tagBytes = documentSize(tags);
    if (tagBytes > TWIN_LIMITS.tagsBytes)
      error(
        `edgek8s:devices.${device.deviceId}.tags`,
        `are ${tagBytes} bytes with the rollout bucket; IoT Hub allows ${TWIN_LIMITS.tagsBytes}`,
      );
    const twin = { deviceId: device.deviceId, tags, capabilities: { iotEdge: true } };
    const targeting = input.tracks.filter((t) => {
      const c = parseCondition(t.target);
      return c.ok && matches(c.expr, twin);
    });
    if (targeting.length === 0) continue;
    if (device.ownManifest) {
      error(
        `edgek8s:devices.${device.deviceId}.manifest`,
        `the device is also targeted by track ${targeting.map((t) => t.name).join(", ")}; give it either a manifest or a track`,
      );
    }
    const resolution = resolveDevice(
      targeting.map((t, i): Configuration => ({
        id: t.name,
        priority: (t.layer ? 1_000_000 : 1) + i,
        createdTimeUtc: "",
        layer: t.layer,
        modulesContent: t.modulesContent,
      })),
    );
    for (const [twinId, desired] of Object.entries(resolution.desired)) {
      const size = documentSize(desired);
      const where = `edgek8s:devices.${device.deviceId}`;
      const what = `${twinId} desired properties from ${resolution.applied.join(" + ")}`;
      if (size > TWIN_LIMITS.desiredBytes)
        error(where, `${what} are ${size} bytes; IoT Hub allows ${TWIN_LIMITS.desiredBytes}`);
      else if (size > 0.8 * TWIN_LIMITS.desiredBytes)
        warn(where, `${what} are ${size} bytes, over 80 % of IoT Hub's ${TWIN_LIMITS.desiredBytes}`);
    }
  }

  // Rings: each select parses (checked by the plan parser); ring 0 must reach a configured device.
  const firstRing = input.plan.rings[0];
  if (firstRing && firstRing.percent !== 100 && input.tracks.length > 0 && input.devices.length > 0) {
    const reached = input.tracks.some((t) =>
      input.devices.some((d) => {
        const c = parseCondition(firstRing.select ?? "false");
        const twin = { deviceId: d.deviceId, tags: deviceTags(d.deviceId, d.tags), capabilities: { iotEdge: true } };
        const inRing =
          (c.ok && matches(c.expr, twin)) ||
          (firstRing.percent !== undefined && deviceBucket(d.deviceId) < firstRing.percent);
        const target = parseCondition(t.target);
        return inRing && target.ok && matches(target.expr, twin);
      }),
    );
    if (!reached)
      warn(
        "edgek8s:rollout.rings[0]",
        `ring ${firstRing.name} selects none of the stack's devices (${BUCKET_PATH} or select); the canary would prove nothing`,
      );
  }

  // Query budget (ROLLOUT.md §B4): about 4 COUNT() queries per poll of the one rollout a stack runs at
  // a time (CI's concurrency group), within half the hub's query throttle (20/min per S1/S2 unit).
  if (input.hub) {
    const perMinutePerUnit = input.hub.sku === "S3" ? 1000 : 20;
    const budget = 0.5 * perMinutePerUnit * input.hub.units;
    const rate = QUERIES_PER_POLL * (60_000 / input.plan.pollIntervalMs);
    if (rate > budget) {
      error(
        "edgek8s:rollout.pollInterval",
        `${rate.toFixed(1)} queries a minute exceed half of the hub's ${perMinutePerUnit * input.hub.units}/min query throttle; poll less often`,
      );
    }
  }
  return out;
}
