import { type Findings, readContainerSettings, sinkFor } from "./createOptions.ts";
import { type JsonPath, formatPath, issue, warning } from "./issues.ts";
import type { ModuleSpec } from "./model.ts";
import {
  DEFAULT_RESTART_POLICY,
  DEFAULT_STARTUP_ORDER,
  IMAGE_PULL_POLICIES,
  MODULE_STATUSES,
  RESTART_POLICIES,
} from "./schema.ts";
import { isRecord, read } from "./shape/read.ts";
import { t } from "./shape/shape.ts";
import { k8sName } from "../naming/k8sName.ts";

/** What the parser needs to know beyond the manifest. */
export interface ParseOptions {
  /**
   * Nested IoT Edge: the host `$upstream` stands for in images and registry addresses (the parent
   * device's registry proxy). The IoT Edge agent takes it from IOTEDGE_GATEWAYHOSTNAME
   * (edge-agent/src/Microsoft.Azure.Devices.Edge.Agent.Core/NestedEdgeParentUriParser.cs).
   */
  readonly parentHostname?: string | undefined;
}

/**
 * A module as the Edge Agent deserialises it (edge-agent/src/Microsoft.Azure.Devices.Edge.Agent.Docker/
 * DockerDesiredModule.cs and DockerModule.cs, with Newtonsoft: keys case-insensitive, enum values by
 * name in any case). `restartPolicy` defaults to on-unhealthy, `imagePullPolicy` to on-create,
 * `startupOrder` to 4294967295; `startupOrder` is read whatever the schemaVersion, as the agent does.
 */
const moduleShape = t.object(
  {
    version: t.string(),
    type: t.enum(["docker"]),
    status: t.enum(MODULE_STATUSES),
    restartPolicy: t.enum(RESTART_POLICIES),
    imagePullPolicy: t.enum(IMAGE_PULL_POLICIES),
    startupOrder: t.integer({ min: 0, max: DEFAULT_STARTUP_ORDER }),
    env: t.map(t.json()),
    settings: t.json(),
    configuration: t.json(),
  },
  { kind: "warn", hint: () => "unknown key, ignored" },
);

const settingsFields = new Set(["image", "digest"]);
const MODULE_FIELDS = new Map(Object.keys(moduleShape.fields).map((k) => [k.toLowerCase(), k]));

/** `{NAME: {value}}`; a bare value is taken as the value, with a warning (the agent's EnvVal needs the object). */
function readEnv(env: Record<string, unknown>, path: JsonPath, found: Findings): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, entry] of Object.entries(env)) {
    const at = [...path, name];
    if (entry === null || entry === undefined) continue;
    let value: unknown = entry;
    if (isRecord(entry)) {
      const key = Object.keys(entry).find((k) => k.toLowerCase() === "value");
      value = key === undefined ? "" : entry[key];
    } else {
      found.warnings.push(
        warning(at, 'is not {"value": …}, which the IoT Edge agent requires; its text is used as the value'),
      );
    }
    if (value === null || value === undefined) value = "";
    if (typeof value === "object") {
      found.issues.push(issue([...at, "value"], "must be a string, number or boolean"));
      continue;
    }
    out.push([name, typeof value === "number" || typeof value === "boolean" ? String(value) : (value as string)]);
  }
  return out;
}

/** The image, with `$upstream:<port>` resolved as the agent resolves it for nested IoT Edge. */
export function resolveUpstream(
  text: string,
  at: JsonPath,
  found: Findings,
  options: ParseOptions,
): string | undefined {
  const match = /^(?<pre>.*)\$upstream(?<post>:[1-9].*)$/.exec(text);
  if (!match) return text;
  if (options.parentHostname === undefined || options.parentHostname === "") {
    found.issues.push(
      issue(
        at,
        `"${text}" names $upstream, the parent device of a nested IoT Edge; give the agent the parent's host name (--parent-hostname) to use it`,
      ),
    );
    return undefined;
  }
  return `${match.groups!["pre"]!}${options.parentHostname}${match.groups!["post"]!}`;
}

function readSettings(value: unknown, at: JsonPath, found: Findings) {
  if (!isRecord(value)) {
    found.issues.push(
      issue(at, value === undefined ? "is required (the module's image and createOptions)" : "must be an object"),
    );
    return undefined;
  }
  const imageKey = Object.keys(value).find((k) => k.toLowerCase() === "image");
  const image = imageKey === undefined ? undefined : value[imageKey];
  if (typeof image !== "string" || image.trim() === "") {
    found.issues.push(issue([...at, imageKey ?? "image"], "is required: the module's image reference"));
  }
  for (const key of Object.keys(value)) {
    if (settingsFields.has(key.toLowerCase()) || /^createoptions\d*$/i.test(key)) continue;
    const moduleField = MODULE_FIELDS.get(key.toLowerCase());
    found.warnings.push(
      warning(
        [...at, key],
        moduleField
          ? `is a module field (${moduleField}), not a settings field; ignored, as on IoT Edge`
          : "unknown key, ignored",
      ),
    );
  }
  return {
    image: typeof image === "string" ? image.trim() : "",
    imagePath: [...at, imageKey ?? "image"],
    settings: value,
  };
}

/** Reads one module (edgeHub when `system`) into its typed spec; undefined (issues recorded) when invalid. */
export function readModule(
  id: string,
  input: unknown,
  path: JsonPath,
  system: boolean,
  found: Findings,
  options: ParseOptions,
): ModuleSpec | undefined {
  const before = found.issues.length;
  const module = read(input, moduleShape, path, sinkFor(found));
  if (!module) {
    if (input === undefined || input === null) found.issues.push(issue(path, "must be a module object"));
    return undefined;
  }
  const raw = input as Record<string, unknown>;
  const keyOf = (name: string) => Object.keys(raw).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
  if (module.type === undefined && !found.issues.some((i) => i.path === formatPath([...path, keyOf("type")]))) {
    found.issues.push(issue([...path, keyOf("type")], 'is required: "docker"'));
  }
  if (module.status === undefined && !found.issues.some((i) => i.path === formatPath([...path, keyOf("status")]))) {
    found.issues.push(issue([...path, keyOf("status")], 'is required: "running" or "stopped"'));
  }
  if (system && module.status === "stopped")
    found.issues.push(issue([...path, keyOf("status")], 'edgeHub must be "running"'));
  const settingsPath = [...path, keyOf("settings")];
  const settings = readSettings(module.settings, settingsPath, found);
  const env = readEnv(module.env ?? {}, [...path, keyOf("env")], found);
  const container = settings ? readContainerSettings(settings.settings, settingsPath, found) : undefined;
  const image = settings ? resolveUpstream(settings.image, settings.imagePath, found, options) : undefined;
  if (found.issues.length > before || !container || image === undefined || module.status === undefined)
    return undefined;
  return {
    id,
    k8sName: k8sName(id),
    system,
    path: formatPath(path),
    pathParts: path,
    version: module.version,
    status: module.status,
    restartPolicy: module.restartPolicy ?? DEFAULT_RESTART_POLICY,
    imagePullPolicy: module.imagePullPolicy ?? "on-create",
    startupOrder: module.startupOrder ?? DEFAULT_STARTUP_ORDER,
    env,
    image,
    ...container,
  };
}
