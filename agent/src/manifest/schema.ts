/**
 * The fixed vocabulary of the IoT Edge deployment manifest and the schema versions the runtime
 * accepts, from Azure/iotedge:
 * - edge-agent/src/Microsoft.Azure.Devices.Edge.Agent.Core/IModule.cs (statuses, policies);
 * - edge-agent/src/Microsoft.Azure.Devices.Edge.Agent.Core/Constants.cs (DefaultRestartPolicy
 *   OnUnhealthy, DefaultStartupOrder uint.MaxValue), Agent.Docker/DockerDesiredModule.cs (how they apply);
 * - edge-agent/src/Microsoft.Azure.Devices.Edge.Agent.IoTHub/EdgeAgentConnection.cs
 *   (ValidateSchemaVersion: major 1, at most 1.1.0);
 * - edge-hub/core/src/Microsoft.Azure.Devices.Edge.Hub.Core/config/EdgeHubConfigParser.cs
 *   (major 1, minor 0 to 3; `new Version(text)`, so build and revision parts are allowed).
 */

export const MODULE_STATUSES = ["running", "stopped"] as const;
export const RESTART_POLICIES = ["never", "on-failure", "on-unhealthy", "always"] as const;
export const IMAGE_PULL_POLICIES = ["on-create", "never"] as const;
/** The agent's default when a module has no restartPolicy (Constants.DefaultRestartPolicy). */
export const DEFAULT_RESTART_POLICY = "on-unhealthy";
/** The default startupOrder: start after everything that has one (Constants.DefaultStartupOrder). */
export const DEFAULT_STARTUP_ORDER = 4294967295;

/** System.Version's text form: major.minor[.build[.revision]], each a non-negative integer. */
const VERSION = /^(\d+)\.(\d+)(?:\.(\d+)(?:\.(\d+))?)?$/;

function parts(text: string): number[] | undefined {
  const match = VERSION.exec(text.trim());
  return match ? match.slice(1).map((p: string | undefined) => (p === undefined ? -1 : Number(p))) : undefined;
}

/** System.Version.CompareTo: part by part, an absent part (-1) before 0. */
function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 4; i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

const EDGE_AGENT_MAX = [1, 1, 0, -1];

/** Why the Edge Agent refuses this `$edgeAgent` schemaVersion, or undefined ("1.0", "1.1", "1.1.0", "1.0.5" …). */
export function edgeAgentSchemaProblem(text: string): string | undefined {
  const version = parts(text);
  if (!version) return `"${text}" is not a version (expected 1.0 or 1.1)`;
  if (version[0] !== 1 || compare(version, EDGE_AGENT_MAX) > 0) {
    return `schema version "${text}" is not supported: the Edge Agent reads 1.0 up to 1.1.0`;
  }
  return undefined;
}

/** Why edgeHub refuses this `$edgeHub` schemaVersion, or undefined ("1.0" … "1.3", with optional build parts). */
export function edgeHubSchemaProblem(text: string): string | undefined {
  const version = parts(text);
  if (!version) return `"${text}" is not a version (expected 1.0, 1.1, 1.2 or 1.3)`;
  if (version[0] !== 1 || version[1]! > 3) {
    return `schema version "${text}" is not supported: edgeHub reads 1.0, 1.1, 1.2 and 1.3`;
  }
  return undefined;
}

/** The edgeHub schema's minor version (0 to 3), once edgeHubSchemaProblem has accepted it. */
export function edgeHubMinor(text: string): number {
  return parts(text)?.[1] ?? 0;
}
