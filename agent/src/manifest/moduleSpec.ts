import {
  type CreateOptions,
  type K8sExperimental,
  createOptionsSchema,
  k8sExperimentalSchema,
  splitK8sExperimental,
} from "./createOptions.ts";
import { type JsonPath, type ManifestIssue, type ManifestWarning, formatPath, issue, warning } from "./issues.ts";
import type { ContainerPort, ModuleSpec, PortBinding } from "./model.ts";
import { parseHostPort, parsePortKey, portKey } from "./ports.ts";
import { CREATE_OPTIONS_CHUNK, DEFAULT_STARTUP_ORDER, type UserModuleInput } from "./schema.ts";
import { collectMounts } from "./volumes.ts";
import { fromZod } from "./zodIssues.ts";
import { k8sName } from "../naming/k8sName.ts";

/** What buildModule reads: a user module, or edgeHub (which has no version). */
export interface ModuleInput {
  readonly version?: string | undefined;
  readonly status: UserModuleInput["status"];
  readonly restartPolicy: UserModuleInput["restartPolicy"];
  readonly imagePullPolicy?: UserModuleInput["imagePullPolicy"];
  readonly startupOrder?: number | undefined;
  readonly env?: UserModuleInput["env"];
  readonly settings: UserModuleInput["settings"];
}

interface Findings {
  issues: ManifestIssue[];
  warnings: ManifestWarning[];
}

/** Joins `createOptions`, `createOptions01`, … (IoT Hub splits long values into 512-character pieces). */
function joinCreateOptions(settings: Record<string, unknown>, path: JsonPath, found: Findings): unknown {
  const first = settings["createOptions"];
  const chunks = Object.keys(settings)
    .map((key) => CREATE_OPTIONS_CHUNK.exec(key))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ key: m[0], index: Number(m[1]) }))
    .sort((a, b) => a.index - b.index);
  if (chunks.length === 0) return first;
  if (typeof first !== "string") {
    found.issues.push(issue([...path, "createOptions"], "is required as a string when createOptions01… are present"));
    return undefined;
  }
  let text = first;
  for (const [i, chunk] of chunks.entries()) {
    if (chunk.index !== i + 1) {
      found.issues.push(issue([...path, chunk.key], `createOptions chunks must be numbered 01, 02, … without gaps`));
      return undefined;
    }
    text += String(settings[chunk.key]);
  }
  return text;
}

function parseCreateOptions(
  value: unknown,
  path: JsonPath,
  found: Findings,
): { createOptions: CreateOptions; k8sExperimental: K8sExperimental } | undefined {
  if (value === undefined || value === "") return { createOptions: {}, k8sExperimental: {} };
  let parsed: unknown = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value) as unknown;
    } catch (error) {
      found.issues.push(issue(path, `is not valid JSON: ${(error as Error).message}`));
      return undefined;
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    found.issues.push(issue(path, "must be a JSON object (Docker container create options)"));
    return undefined;
  }
  const { docker, k8sExperimental, k8sExperimentalKey } = splitK8sExperimental(parsed as Record<string, unknown>);
  const dockerResult = createOptionsSchema.safeParse(docker);
  const k8sResult = k8sExperimentalSchema.safeParse(k8sExperimental ?? {});
  if (!dockerResult.success) found.issues.push(...fromZod(dockerResult.error, path));
  if (!k8sResult.success) found.issues.push(...fromZod(k8sResult.error, [...path, k8sExperimentalKey ?? ""]));
  if (!dockerResult.success || !k8sResult.success) return undefined;
  return { createOptions: dockerResult.data, k8sExperimental: k8sResult.data };
}

function parsePorts(createOptions: CreateOptions, path: JsonPath, found: Findings) {
  const exposedPorts: ContainerPort[] = [];
  const portBindings: PortBinding[] = [];
  const seenExposed = new Set<string>();
  for (const key of Object.keys(createOptions.ExposedPorts ?? {})) {
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
  for (const [key, bindings] of Object.entries(createOptions.HostConfig?.PortBindings ?? {})) {
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
    for (const [i, binding] of (bindings ?? [{}]).entries()) {
      const hostPort = parseHostPort(binding.HostPort, port.port);
      const hostKey = `${hostPort}/${port.protocol}`;
      if (typeof hostPort === "string") found.issues.push(issue([...at, i, "HostPort"], hostPort));
      else if (seenHost.has(hostKey))
        found.issues.push(
          issue([...at, i, "HostPort"], `host port ${hostPort}/${port.protocol.toLowerCase()} is bound twice`),
        );
      else {
        seenHost.add(hostKey);
        portBindings.push({ ...port, hostPort });
      }
    }
  }
  return { exposedPorts, portBindings };
}

function parseEnvEntries(createOptions: CreateOptions, path: JsonPath, found: Findings): void {
  (createOptions.Env ?? []).forEach((entry, i) => {
    if (entry.startsWith("=") || entry === "")
      found.issues.push(issue([...path, "Env", i], `"${entry}" is not NAME=value`));
  });
}

/** Everything a module's settings say about its container, validated: the createOptions-derived part of a spec. */
type ContainerSettings = Pick<
  ModuleSpec,
  "createOptions" | "k8sExperimental" | "exposedPorts" | "portBindings" | "mounts"
>;

/** Joins, parses and checks `settings.createOptions`; undefined (with issues recorded) when it is invalid. */
export function parseContainerSettings(
  settings: Record<string, unknown>,
  path: JsonPath,
  found: Findings,
): ContainerSettings | undefined {
  const settingsPath = [...path, "settings"];
  const raw = joinCreateOptions(settings, settingsPath, found);
  const createOptionsPath = [...settingsPath, "createOptions"];
  const parsed = parseCreateOptions(raw, createOptionsPath, found);
  if (!parsed) return undefined;
  const before = found.issues.length;
  const { exposedPorts, portBindings } = parsePorts(parsed.createOptions, createOptionsPath, found);
  parseEnvEntries(parsed.createOptions, createOptionsPath, found);
  const { mounts, issues } = collectMounts(parsed.createOptions, createOptionsPath);
  found.issues.push(...issues);
  if (found.issues.length > before) return undefined;
  return { ...parsed, exposedPorts, portBindings, mounts };
}

/** Builds one module's typed spec from its schema-checked input. */
export function buildModule(
  id: string,
  input: ModuleInput,
  path: JsonPath,
  system: boolean,
  found: Findings,
): ModuleSpec | undefined {
  const container = parseContainerSettings(input.settings, path, found);
  if (!container) return undefined;
  return {
    id,
    k8sName: k8sName(id),
    system,
    path: formatPath(path),
    version: input.version,
    status: input.status,
    restartPolicy: input.restartPolicy,
    imagePullPolicy: input.imagePullPolicy ?? "on-create",
    startupOrder: input.startupOrder ?? DEFAULT_STARTUP_ORDER,
    env: Object.entries(input.env ?? {}).map(([name, v]) => [name, String(v.value)] as const),
    image: input.settings.image.trim(),
    ...container,
  };
}

export function reportUnknownKeys(
  value: Record<string, unknown>,
  known: readonly string[],
  path: JsonPath,
  warnings: ManifestWarning[],
  extra: (key: string) => boolean = () => false,
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key) && !extra(key)) warnings.push(warning([...path, key], "unknown key, ignored"));
  }
}
