import { type DockerBody, dockerBodyShape } from "./docker/body.ts";
import { type JsonPath, type ManifestIssue, type ManifestWarning, issue, warning } from "./issues.ts";
import { parseRuntimeJson } from "./json.ts";
import { K8S_EXPERIMENTAL_KEY, type K8sExperimental, k8sExperimentalShape } from "./k8s/experimental.ts";
import type { ContainerPort, PortBinding } from "./model.ts";
import { parseHostPort, parsePortKey, portKey } from "./ports.ts";
import { type ReadSink, isRecord, read } from "./shape/read.ts";
import { type VolumeMountSpec, collectMounts } from "./volumes.ts";

export interface Findings {
  issues: ManifestIssue[];
  warnings: ManifestWarning[];
}

export function sinkFor(found: Findings): ReadSink {
  return {
    issue: (path, message) => found.issues.push(issue(path, message)),
    warning: (path, message) => found.warnings.push(warning(path, message)),
  };
}

/** Everything a module's settings say about its container: the createOptions-derived part of a ModuleSpec. */
export interface ContainerSettings {
  readonly createOptions: DockerBody;
  readonly k8sExperimental: K8sExperimental;
  readonly exposedPorts: readonly ContainerPort[];
  readonly portBindings: readonly PortBinding[];
  readonly mounts: readonly VolumeMountSpec[];
}

/** `createOptions`, `createOptions01`, … in any letter case, ordered (Azure/iotedge JsonEx.ChunkedValue). */
const CHUNK = /^createoptions(\d*)$/i;

/**
 * The createOptions text (or object), joined from IoT Hub's 512-character chunks as the agent
 * joins them (edge-agent DockerConfig.cs ReadJson + edge-util JsonEx.cs ChunkedProperty: the first
 * without a number, then 1, 2, … with no gap).
 */
function joinCreateOptions(settings: Record<string, unknown>, path: JsonPath, found: Findings): unknown {
  const chunks = Object.keys(settings)
    .map((key) => ({ key, match: CHUNK.exec(key) }))
    .filter((c): c is { key: string; match: RegExpExecArray } => c.match !== null)
    .sort((a, b) => (a.key.toLowerCase() < b.key.toLowerCase() ? -1 : 1));
  if (chunks.length === 0) return undefined;
  if (chunks.length === 1 && chunks[0]!.match[1] === "") return settings[chunks[0]!.key];
  let text = "";
  for (const [i, chunk] of chunks.entries()) {
    const expected = i === 0 ? "" : String(i);
    if ((chunk.match[1] === "" ? "" : String(Number(chunk.match[1]))) !== expected) {
      found.issues.push(
        issue([...path, chunk.key], `createOptions chunks must be createOptions, createOptions01, 02, … without gaps`),
      );
      return undefined;
    }
    const value = settings[chunk.key];
    if (typeof value !== "string") {
      found.issues.push(issue([...path, chunk.key], "a createOptions chunk must be a string"));
      return undefined;
    }
    text += value;
  }
  return text;
}

/** The createOptions object: parsed as the agent parses it (empty, whitespace or "null" mean none). */
function createOptionsObject(raw: unknown, path: JsonPath, found: Findings): Record<string, unknown> | undefined {
  if (raw === undefined || raw === null) return {};
  let value: unknown = raw;
  if (typeof raw === "string") {
    if (raw.trim() === "" || raw.trim().toLowerCase() === "null") return {};
    const parsed = parseRuntimeJson(raw);
    if ("error" in parsed) {
      found.issues.push(issue(path, `is not valid JSON: ${parsed.error}`));
      return undefined;
    }
    if (parsed.lenient) {
      found.warnings.push(
        warning(
          path,
          "is not strict JSON (unquoted names, single quotes, comments or trailing commas); read as the IoT Edge agent's JSON reader reads it",
        ),
      );
    }
    value = parsed.value;
  }
  if (value === null) return {};
  if (!isRecord(value)) {
    found.issues.push(issue(path, "must be a JSON object (Docker container create options)"));
    return undefined;
  }
  return value;
}

function parsePorts(body: DockerBody, path: JsonPath, found: Findings) {
  const exposedPorts: ContainerPort[] = [];
  const portBindings: PortBinding[] = [];
  const seenExposed = new Set<string>();
  for (const key of Object.keys(body.ExposedPorts ?? {})) {
    const port = parsePortKey(key);
    const at = [...path, "ExposedPorts", key];
    if (typeof port === "string") found.issues.push(issue(at, port));
    else if (seenExposed.has(portKey(port))) found.issues.push(issue(at, `duplicate container port ${portKey(port)}`));
    else {
      seenExposed.add(portKey(port));
      exposedPorts.push(port);
    }
  }
  const seenBound = new Set<string>();
  const seenHost = new Set<string>();
  for (const [key, bindings] of Object.entries(body.HostConfig?.PortBindings ?? {})) {
    const at = [...path, "HostConfig", "PortBindings", key];
    const port = parsePortKey(key);
    if (typeof port === "string") {
      found.issues.push(issue(at, port));
      continue;
    }
    if (seenBound.has(portKey(port))) {
      found.issues.push(issue(at, `duplicate container port ${portKey(port)}`));
      continue;
    }
    seenBound.add(portKey(port));
    for (const [i, binding] of bindings.entries()) {
      const hostPort = parseHostPort(binding.HostPort, port.port);
      const hostKey = `${hostPort}/${port.protocol}`;
      if (typeof hostPort === "string") found.issues.push(issue([...at, i, "HostPort"], hostPort));
      else if (seenHost.has(hostKey))
        found.issues.push(
          issue([...at, i, "HostPort"], `host port ${hostPort}/${port.protocol.toLowerCase()} is bound twice`),
        );
      else {
        seenHost.add(hostKey);
        portBindings.push({ ...port, hostPort, hostIp: binding.HostIp ?? "", at: [...at, i] });
      }
    }
  }
  return { exposedPorts, portBindings };
}

/** Splits off `k8s-experimental` (matched case-insensitively, as every key here is). */
function splitK8sExperimental(options: Record<string, unknown>) {
  const docker: Record<string, unknown> = {};
  let k8sExperimental: unknown;
  let k8sExperimentalKey = K8S_EXPERIMENTAL_KEY;
  for (const [key, value] of Object.entries(options)) {
    if (key.toLowerCase() === K8S_EXPERIMENTAL_KEY) {
      k8sExperimentalKey = key;
      k8sExperimental = value;
    } else docker[key] = value;
  }
  return { docker, k8sExperimental, k8sExperimentalKey };
}

/**
 * The one pass over a module's `settings.createOptions`: joins the chunks, parses the JSON as the
 * agent does, reads Docker's body and `k8s-experimental` into typed values (keys case-insensitive,
 * values coerced, every field Kubernetes cannot honour reported with its path), then the ports and
 * mounts. Translation reads only the result. Undefined (with issues recorded) when it is invalid.
 */
export function readContainerSettings(
  settings: Record<string, unknown>,
  settingsPath: JsonPath,
  found: Findings,
): ContainerSettings | undefined {
  const raw = joinCreateOptions(settings, settingsPath, found);
  const path = [
    ...settingsPath,
    Object.keys(settings).find((k) => k.toLowerCase() === "createoptions") ?? "createOptions",
  ];
  const options = createOptionsObject(raw, path, found);
  if (!options) return undefined;
  const before = found.issues.length;
  const sink = sinkFor(found);
  const { docker, k8sExperimental, k8sExperimentalKey } = splitK8sExperimental(options);
  const createOptions = read(docker, dockerBodyShape, path, sink) ?? {};
  const experimental = (read(k8sExperimental, k8sExperimentalShape, [...path, k8sExperimentalKey], sink) ??
    {}) as K8sExperimental;
  const { exposedPorts, portBindings } = parsePorts(createOptions, path, found);
  const mounts = collectMounts(createOptions, path, sink);
  if (found.issues.length > before) return undefined;
  return { createOptions, k8sExperimental: experimental, exposedPorts, portBindings, mounts };
}
