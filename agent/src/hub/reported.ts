import type { EdgeDeploymentStatus, ModuleStatus } from "../crd/edgeDeployment.ts";

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

function runtimeOf(status: ModuleStatus | undefined): Json {
  if (!status) return { runtimeStatus: "unknown", statusDescription: "not reported yet" };
  return {
    runtimeStatus: status.runtimeStatus,
    ...(status.statusDescription !== undefined ? { statusDescription: status.statusDescription } : {}),
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
    heartbeat: inputs.heartbeatUtc,
  };
}
