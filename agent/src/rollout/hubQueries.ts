import { canonicalJson } from "../runtime/canonical.ts";
import type { DeviceReport } from "./classify.ts";
import type { Gates } from "./plan.ts";

/**
 * The IoT Hub twin queries and twin reading of the rollout's gates (ROLLOUT.md §B4 step 3), pure.
 * The counting queries restate `classifyDevice` in IoT Hub's query language, on the `$edgeAgent`
 * module twins where the release is Applied, so a ring too large to read twin by twin is judged by the
 * same rules. Sources: the applied/success/failure strings of IoT Hub's own system metrics (the Azure
 * CLI fixture `test_config_modules_show.json`), "Comparisons work only between primitives" and ISO
 * strings compare lexically (iot-hub-devguide-query-language.md).
 */
const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;
const EDGE_AGENT = "moduleId = '$edgeAgent'";
const CODE = "properties.reported.lastDesiredStatus.code";
const HEARTBEAT = "properties.reported.heartbeat";
const MATCHED = "properties.desired.$version = properties.reported.lastDesiredVersion";
const READY_VERSION = "properties.reported.edgek8s.readyVersion = properties.desired.$version";

/** Devices a condition selects; what IoT Hub's Targeted metric counts (`capabilities.iotEdge = true AND …`). */
export function devicesQuery(condition: string, count = false): string {
  return `SELECT ${count ? "COUNT() AS n" : "deviceId"} FROM devices WHERE capabilities.iotEdge = true AND (${condition})`;
}

export function appliedWhere(release: string): string {
  return `${EDGE_AGENT} AND configurations.[[${release}]].status = 'Applied'`;
}

export interface ClassQueries {
  readonly succeeded: string;
  readonly failed: string;
  readonly unreachable: string;
  /** Up to 20 failing devices with what they reported, for the table. */
  readonly failing: string;
}

/** The four classes of `classifyDevice`, as COUNT() queries over the release's Applied `$edgeAgent` twins. */
export function classQueries(release: string, gates: Gates, now: Date): ClassQueries {
  const staleBefore = quote(new Date(now.getTime() - gates.staleAfterMs).toISOString());
  const graceBefore = quote(new Date(now.getTime() - gates.readyGraceMs).toISOString());
  const applied = appliedWhere(release);
  const reachable = `${HEARTBEAT} >= ${staleBefore} AND ${CODE} != 406`;
  const succeeded = `${applied} AND ${reachable} AND ${MATCHED} AND ${CODE} = 200 AND ${READY_VERSION} AND properties.reported.edgek8s.ready = true`;
  const failed =
    `${applied} AND ${reachable} AND ${MATCHED} AND (${CODE} != 200 OR (${READY_VERSION}` +
    ` AND properties.reported.edgek8s.ready = false AND properties.reported.edgek8s.readySince < ${graceBefore}))`;
  const unreachable = `${applied} AND (NOT is_defined(${HEARTBEAT}) OR ${HEARTBEAT} < ${staleBefore} OR ${CODE} = 406)`;
  const count = (where: string) => `SELECT COUNT() AS n FROM devices.modules WHERE ${where}`;
  return {
    succeeded: count(succeeded),
    failed: count(failed),
    unreachable: count(unreachable),
    failing: `SELECT deviceId, properties.reported.lastDesiredStatus AS status, properties.reported.edgek8s AS readiness FROM devices.modules WHERE ${failed}`,
  };
}

type Json = Record<string, unknown>;
const object = (value: unknown): Json =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
const int = (value: unknown) => (typeof value === "number" ? value : undefined);
const text = (value: unknown) => (typeof value === "string" ? value : undefined);

/**
 * A device's report from its `$edgeAgent` module twin as the service SDK returns it (`Twin` merges
 * the whole body, so `configurations` survives: azure-iot-hub-node `src/twin.ts`).
 */
export function reportFromTwin(deviceId: string, twin: unknown, judged: string): DeviceReport {
  const t = object(twin);
  const properties = object(t["properties"]);
  const desired = object(properties["desired"]);
  const reported = object(properties["reported"]);
  const configurations = object(t["configurations"]);
  const applied = Object.entries(configurations)
    .filter(([, c]) => object(c)["status"] === "Applied")
    .map(([id]) => id);
  const status = object(reported["lastDesiredStatus"]);
  const readiness = object(reported["edgek8s"]);
  const description = text(status["description"]);
  return {
    deviceId,
    appliedConfiguration: applied.includes(judged) ? judged : applied[0],
    desiredVersion: int(desired["$version"]) ?? 0,
    lastDesiredVersion: int(reported["lastDesiredVersion"]),
    code: int(status["code"]),
    ...(description ? { description } : {}),
    readyVersion: int(readiness["readyVersion"]),
    ready: typeof readiness["ready"] === "boolean" ? readiness["ready"] : undefined,
    readySince: text(readiness["readySince"]),
    heartbeat: text(reported["heartbeat"]),
  };
}

export function isApplied(twin: unknown, release: string): boolean {
  return object(object(object(twin)["configurations"])[release])["status"] === "Applied";
}

const LAYER_PATH = "properties.desired.";

/**
 * Whether a device's `$edgeAgent` desired properties still hold what a layered candidate set — a
 * path of the layer whose value is the layer's own (not also the stable layer's). IoT Hub may leave
 * an un-targeted layer's modules on a device while its `configurations` already name the stable
 * release (Azure/iotedge#7057: "Removing the tag won't work"), and the desired `$version` then does
 * not move, so version-matching alone would take the device for rolled back.
 */
export function stillCarriesLayer(twin: unknown, candidate: unknown, stable: unknown): boolean {
  const layer = object(object(candidate)["$edgeAgent"]);
  const stableLayer = object(object(stable)["$edgeAgent"]);
  const desired = object(object(object(twin)["properties"])["desired"]);
  return Object.entries(layer).some(([path, value]) => {
    if (!path.startsWith(LAYER_PATH)) return false;
    let current: unknown = desired;
    for (const segment of path.slice(LAYER_PATH.length).split(".")) current = object(current)[segment];
    if (current === undefined) return false;
    const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
    return same(current, value) && !(path in stableLayer && same(stableLayer[path], value));
  });
}
