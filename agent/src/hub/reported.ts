import type { EdgeDeploymentStatus, ModuleStatus, Readiness } from "../crd/edgeDeployment.ts";

/**
 * The `$edgeAgent` reported properties, in the real agent's shape (DESIGN §7), so IoT Hub's
 * deployment metrics and the portal read them as they read the real agent's. Pure.
 */

export interface DesiredStatus {
  readonly code: number;
  readonly description: string;
}

export interface AgentInfo {
  readonly version: string;
  readonly os: string;
  readonly architecture: string;
  /** When this agent process started (the edgeAgent "module"'s start). */
  readonly startedUtc: string;
}

export interface ReportInputs {
  readonly agent: AgentInfo;
  /** The `$version` of the desired properties last acted on, and how that went. */
  readonly lastDesiredVersion: number | undefined;
  readonly lastDesiredStatus: DesiredStatus | undefined;
  /** `$edgeAgent` desired properties currently running (the last valid ones). */
  readonly desired: unknown;
  readonly status: EdgeDeploymentStatus | undefined;
  readonly heartbeatUtc: string;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function settingsOf(module: unknown): Json {
  const settings = isObject(module) && isObject(module["settings"]) ? module["settings"] : {};
  const createOptions = settings["createOptions"];
  return {
    image: settings["image"],
    ...(createOptions !== undefined
      ? { createOptions: typeof createOptions === "string" ? createOptions : JSON.stringify(createOptions) }
      : {}),
  };
}

/** Longer descriptions (a container's termination message) are cut: IoT Hub takes 4 KB a value, 32 KB in all. */
export const MAX_DESCRIPTION = 256;

function description(text: string): string {
  return text.length <= MAX_DESCRIPTION ? text : `${text.slice(0, MAX_DESCRIPTION - 1)}…`;
}

function runtimeOf(status: ModuleStatus | undefined): Json {
  if (!status) return { runtimeStatus: "unknown", statusDescription: "not reported yet" };
  return {
    runtimeStatus: status.runtimeStatus,
    ...(status.statusDescription !== undefined ? { statusDescription: description(status.statusDescription) } : {}),
    ...(status.exitCode !== undefined ? { exitCode: status.exitCode } : {}),
    ...(status.lastStartTimeUtc !== undefined ? { lastStartTimeUtc: status.lastStartTimeUtc } : {}),
    ...(status.lastExitTimeUtc !== undefined ? { lastExitTimeUtc: status.lastExitTimeUtc } : {}),
    restartCount: status.restartCount,
    ...(status.lastRestartTimeUtc !== undefined ? { lastRestartTimeUtc: status.lastRestartTimeUtc } : {}),
  };
}

function moduleEntry(desired: unknown, status: ModuleStatus | undefined): Json {
  const module = isObject(desired) ? desired : {};
  return {
    ...runtimeOf(status),
    ...(module["version"] !== undefined ? { version: module["version"] } : {}),
    ...(module["status"] !== undefined ? { status: module["status"] } : {}),
    ...(module["restartPolicy"] !== undefined ? { restartPolicy: module["restartPolicy"] } : {}),
    type: module["type"] ?? "docker",
    settings: settingsOf(module),
  };
}

/** `properties.reported.edgek8s`: the readiness fields, in a fixed order, nothing else. */
function readinessReport(r: Readiness): Json {
  return {
    ready: r.ready,
    ...(r.readyVersion !== undefined ? { readyVersion: r.readyVersion } : {}),
    modulesReady: r.modulesReady,
    modulesTotal: r.modulesTotal,
    readySince: r.readySince,
  };
}

export function reportedProperties(inputs: ReportInputs): Json {
  const desired = isObject(inputs.desired) ? inputs.desired : {};
  const systemModules = isObject(desired["systemModules"]) ? desired["systemModules"] : {};
  const modules = isObject(desired["modules"]) ? desired["modules"] : {};
  const runtime = isObject(desired["runtime"]) ? desired["runtime"] : {};
  const statuses = inputs.status?.modules ?? {};
  const failing = Object.values(statuses).filter((m) => m.runtimeStatus !== "running" && m.runtimeStatus !== "stopped");
  return {
    schemaVersion: typeof desired["schemaVersion"] === "string" ? desired["schemaVersion"] : "1.1",
    version: { version: inputs.agent.version, build: "edgek8s", commit: "" },
    ...(inputs.lastDesiredVersion !== undefined ? { lastDesiredVersion: inputs.lastDesiredVersion } : {}),
    ...(inputs.lastDesiredStatus !== undefined ? { lastDesiredStatus: inputs.lastDesiredStatus } : {}),
    runtime: {
      type: runtime["type"] ?? "docker",
      platform: { os: inputs.agent.os, architecture: inputs.agent.architecture, version: inputs.agent.version },
    },
    systemModules: {
      edgeAgent: {
        runtimeStatus: "running",
        description:
          failing.length === 0 ? "All modules are running" : `${String(failing.length)} module(s) not running`,
        lastStartTimeUtc: inputs.agent.startedUtc,
        restartCount: 0,
        type: "docker",
        settings: settingsOf(systemModules["edgeAgent"]),
      },
      edgeHub: moduleEntry(systemModules["edgeHub"], statuses["$edgeHub"]),
    },
    modules: Object.fromEntries(Object.entries(modules).map(([id, m]) => [id, moduleEntry(m, statuses[id])])),
    // Beyond the real agent: whether the modules run as desired for exactly `readyVersion` (the
    // rollout's gate; IoT Hub's own metrics count a 200 with crashing modules as success).
    ...(inputs.status?.readiness ? { edgek8s: readinessReport(inputs.status.readiness) } : {}),
    heartbeat: inputs.heartbeatUtc,
  };
}

/**
 * IoT Hub's size of a twin section (learn.microsoft.com, "Understand and use device twins", "Device
 * twin size"): each key's UTF-8 length plus its value's, a number 8 bytes, a Boolean 4, an object the
 * sum of what it holds; `$` bookkeeping and control characters do not count.
 */
export function twinSize(doc: Json): number {
  let size = 0;
  for (const [key, value] of Object.entries(doc)) {
    if (key.startsWith("$")) continue;
    size += utf8(key) + valueSize(value);
  }
  return size;
}

// eslint-disable-next-line no-control-regex -- IoT Hub leaves control characters out of a size
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/gu;
const utf8 = (text: string) => Buffer.byteLength(text.replace(CONTROLS, ""), "utf8");

function valueSize(value: unknown): number {
  if (typeof value === "string") return utf8(value);
  if (typeof value === "number") return 8;
  if (typeof value === "boolean") return 4;
  if (Array.isArray(value)) return value.reduce<number>((sum, v) => sum + valueSize(v), 0);
  if (isObject(value)) return twinSize(value);
  return 0;
}

/** IoT Hub refuses reported properties over 32 KB; the report keeps a margin below it. */
export const REPORTED_BUDGET = 31 * 1024;

type Trim = (entry: Json) => Json;
const without =
  (...keys: string[]): Trim =>
  (entry) =>
    Object.fromEntries(Object.entries(entry).filter(([k]) => !keys.includes(k)));
const withoutCreateOptions: Trim = (entry) =>
  isObject(entry["settings"]) ? { ...entry, settings: without("createOptions")(entry["settings"]) } : entry;

/**
 * Reported properties that IoT Hub accepts whatever the deployment: when the whole report would pass
 * the budget, module details go in this order until it fits: createOptions, status descriptions,
 * settings, everything but the runtime status. `lastDesiredVersion`, `lastDesiredStatus`, the
 * `edgek8s` readiness and each module's `runtimeStatus` (what IoT Hub's deployment metrics and the
 * rollout read) always stay.
 */
export function fitReported(doc: Json, budget = REPORTED_BUDGET): Json {
  const steps: Trim[] = [
    withoutCreateOptions,
    without("statusDescription"),
    without("settings"),
    (entry) => ({ runtimeStatus: entry["runtimeStatus"] }),
  ];
  let fitted = doc;
  for (let i = 0; twinSize(fitted) > budget && i < steps.length; i++) {
    const trims = steps.slice(0, i + 1);
    const trim = (entry: unknown) => trims.reduce((e, t) => t(e), isObject(entry) ? entry : {});
    const mapAll = (group: unknown) =>
      isObject(group) ? Object.fromEntries(Object.entries(group).map(([id, m]) => [id, trim(m)])) : group;
    fitted = { ...doc, systemModules: mapAll(doc["systemModules"]), modules: mapAll(doc["modules"]) };
  }
  return fitted;
}
