import { type Findings, sinkFor } from "./createOptions.ts";
import { type DesiredDocuments, locateDesiredDocuments } from "./document.ts";
import { readEdgeHub } from "./edgeHub.ts";
import { type JsonPath, type ManifestIssue, type ManifestWarning, issue, warning } from "./issues.ts";
import { type DeploymentManifest, EDGE_HUB_MODULE_ID, type ModuleSpec, type RegistryCredential } from "./model.ts";
import { type ParseOptions, readModule, resolveUpstream } from "./moduleSpec.ts";
import { checkModules } from "./moduleChecks.ts";
import { edgeAgentSchemaProblem, edgeHubSchemaProblem } from "./schema.ts";
import { isRecord, read } from "./shape/read.ts";
import { t } from "./shape/shape.ts";
import { compareText } from "../runtime/canonical.ts";

export type { ParseOptions } from "./moduleSpec.ts";

export type ParseResult =
  | { readonly ok: true; readonly manifest: DeploymentManifest; readonly warnings: readonly ManifestWarning[] }
  | { readonly ok: false; readonly issues: readonly ManifestIssue[]; readonly warnings: readonly ManifestWarning[] };

/** IoT Hub's limit on module ids, and the characters DESIGN §5 allows. */
export const MAX_MODULE_ID_LENGTH = 128;
/**
 * "Under each device identity, you can create up to 50 module identities" (IoT Hub module twins
 * guide): every module is one, and so are edgeAgent and edgeHub. A manifest with more cannot run on
 * any IoT Edge device, so it is refused here, for `validate` and the local stack too.
 */
export const MAX_MODULE_IDENTITIES = 50;
const MODULE_ID = /^[a-zA-Z0-9_-]+$/;

/**
 * `$edgeAgent` desired properties as the agent deserialises them (edge-agent/src/
 * Microsoft.Azure.Devices.Edge.Agent.Core/DeploymentConfig.cs, DockerRuntimeConfig, RegistryCredentials).
 */
const edgeAgentShape = t.object(
  {
    schemaVersion: t.string(),
    runtime: t.object({
      type: t.enum(["docker"]),
      settings: t.object({
        minDockerVersion: t.json(),
        loggingOptions: t.ignored("Docker logging options are node settings of the kubelet on Kubernetes; ignored"),
        registryCredentials: t.map(
          t.object({ address: t.string({ nonEmpty: true }), username: t.string(), password: t.string() }),
        ),
      }),
    }),
    systemModules: t.object({ edgeAgent: t.json(), edgeHub: t.json() }),
    modules: t.map(t.json()),
    integrity: t.ignored("manifest signatures are not verified by edgek8s; ignored"),
    $version: t.json(),
    $metadata: t.json(),
  },
  { kind: "warn", hint: () => "unknown key, ignored" },
);

/** Parses a whole manifest file's content (any accepted shape, see locateDesiredDocuments). */
export function parseManifest(input: unknown, options: ParseOptions = {}): ParseResult {
  const documents = locateDesiredDocuments(input);
  if ("message" in documents) return { ok: false, issues: [documents], warnings: [] };
  const result = parseDesired(documents, options);
  return { ...result, warnings: [...(documents.warnings ?? []), ...result.warnings] };
}

function schemaVersionIssue(
  doc: unknown,
  path: JsonPath,
  problemOf: (v: string) => string | undefined,
): ManifestIssue | undefined {
  if (!isRecord(doc)) return issue(path, "must be an object (the desired properties)");
  const key = Object.keys(doc).find((k) => k.toLowerCase() === "schemaversion") ?? "schemaVersion";
  const version = doc[key];
  const at = [...path, key];
  if (version === undefined || version === null || version === "") {
    return issue(at, "is required (1.0 or 1.1 for $edgeAgent, 1.0 to 1.3 for $edgeHub)", "unknownSchemaVersion");
  }
  if (typeof version !== "string" && typeof version !== "number") return issue(at, "must be a string");
  const problem = problemOf(String(version));
  return problem === undefined ? undefined : issue(at, problem, "unknownSchemaVersion");
}

/** Parses the two desired documents, wherever they came from (a file, an EdgeDeployment spec, a twin). */
export function parseDesired(docs: DesiredDocuments, options: ParseOptions = {}): ParseResult {
  // IoT Edge's 417: "the device doesn't have a deployment configuration set" (a local device in a
  // track before the release engine writes it).
  if (docs.edgeAgent === undefined) {
    const unset = issue(docs.edgeAgentPath, "is not set: no deployment has reached this device yet", "empty");
    return { ok: false, issues: [unset], warnings: [] };
  }
  // In hub mode edgeHub reads its own twin; the EdgeDeployment then carries no $edgeHub document.
  const checkHub = !(docs.edgeHubFromTwin === true && docs.edgeHub === undefined);
  const versionIssues = [
    schemaVersionIssue(docs.edgeAgent, docs.edgeAgentPath, edgeAgentSchemaProblem),
    checkHub ? schemaVersionIssue(docs.edgeHub, docs.edgeHubPath, edgeHubSchemaProblem) : undefined,
  ].filter((i): i is ManifestIssue => i !== undefined);
  if (versionIssues.length > 0) return { ok: false, issues: versionIssues, warnings: [] };

  const found: Findings = { issues: [], warnings: [] };
  const base = docs.edgeAgentPath;
  const agent = read(docs.edgeAgent, edgeAgentShape, base, sinkFor(found)) ?? {};
  const raw = docs.edgeAgent as Record<string, unknown>;
  const keyOf = (object: unknown, name: string) =>
    (isRecord(object) ? Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase()) : undefined) ?? name;
  if (agent.runtime === undefined) found.issues.push(issue([...base, keyOf(raw, "runtime")], "is required"));
  const systemPath = [...base, keyOf(raw, "systemModules")];
  const system = agent.systemModules;
  if (system?.edgeAgent === undefined) found.issues.push(issue([...systemPath, "edgeAgent"], "is required"));
  else
    checkEdgeAgentModule(
      system.edgeAgent,
      [...systemPath, keyOf(raw[keyOf(raw, "systemModules")], "edgeAgent")],
      found,
    );

  const modules: ModuleSpec[] = [];
  const edgeHubPath = [...systemPath, keyOf(raw[keyOf(raw, "systemModules")], "edgeHub")];
  if (system?.edgeHub === undefined)
    found.issues.push(issue(edgeHubPath, "is required: edgeHub routes the modules' messages"));
  else {
    const hub = readModule(EDGE_HUB_MODULE_ID, system.edgeHub, edgeHubPath, true, found, options);
    if (hub) modules.push(hub);
  }
  const modulesPath = [...base, keyOf(raw, "modules")];
  for (const [id, input] of Object.entries(agent.modules ?? {})) {
    const at = [...modulesPath, id];
    if (!MODULE_ID.test(id)) found.issues.push(issue(at, "module id may only contain letters, digits, '-' and '_'"));
    else if (id.length > MAX_MODULE_ID_LENGTH) {
      found.issues.push(
        issue(at, `module id is ${id.length} characters; IoT Hub allows at most ${MAX_MODULE_ID_LENGTH}`),
      );
    } else {
      const module = readModule(id, input, at, false, found, options);
      if (module) modules.push(module);
    }
  }
  checkModules(modules, found);
  const userModules = Object.keys(agent.modules ?? {}).length;
  const identities = userModules + 2;
  if (identities > MAX_MODULE_IDENTITIES) {
    found.issues.push(
      issue(
        modulesPath,
        `${userModules} modules with edgeHub and edgeAgent need ${identities} module identities; IoT Hub allows ${MAX_MODULE_IDENTITIES} per device`,
      ),
    );
  }

  const edgeHub = checkHub ? readEdgeHub(docs.edgeHub, docs.edgeHubPath, found) : undefined;
  const settingsPath = [...base, keyOf(raw, "runtime"), "settings", "registryCredentials"];
  const registryCredentials = buildRegistryCredentials(
    agent.runtime?.settings?.registryCredentials ?? {},
    settingsPath,
    found,
    options,
  );
  if (found.issues.length > 0) return { ok: false, issues: found.issues, warnings: found.warnings };
  return {
    ok: true,
    manifest: {
      schemaVersion: agent.schemaVersion ?? "",
      edgeAgentImage: edgeAgentImage(system?.edgeAgent),
      registryCredentials,
      modules: modules.sort((a, b) => compareText(a.k8sName, b.k8sName)),
      edgeHub,
    },
    warnings: found.warnings,
  };
}

function edgeAgentImage(module: unknown): string {
  const settings = isRecord(module)
    ? Object.entries(module).find(([k]) => k.toLowerCase() === "settings")?.[1]
    : undefined;
  const image = isRecord(settings)
    ? Object.entries(settings).find(([k]) => k.toLowerCase() === "image")?.[1]
    : undefined;
  return typeof image === "string" ? image.trim() : "";
}

/**
 * edgek8s runs its own agent (the operator), so `systemModules.edgeAgent` is not deployed: its
 * image must still be there (IoT Hub and the runtime require it), and any settings that would change
 * the agent's container are reported as not used.
 */
function checkEdgeAgentModule(module: unknown, path: JsonPath, found: Findings): void {
  if (!isRecord(module)) {
    found.issues.push(issue(path, "must be an object with type and settings.image"));
    return;
  }
  if (edgeAgentImage(module) === "") found.issues.push(issue([...path, "settings", "image"], "is required"));
  for (const [key, value] of Object.entries(module)) {
    const name = key.toLowerCase();
    if (name === "type" || name === "settings" || name === "$metadata") continue;
    if (value === null || (isRecord(value) && Object.keys(value).length === 0)) continue;
    found.warnings.push(
      warning([...path, key], "edgek8s runs its own Edge Agent; systemModules.edgeAgent's settings are not used"),
    );
  }
  const settings = Object.entries(module).find(([k]) => k.toLowerCase() === "settings")?.[1];
  if (!isRecord(settings)) return;
  for (const [key, value] of Object.entries(settings)) {
    if (!/^createoptions\d*$/i.test(key)) continue;
    const empty =
      value === null || value === "" || (typeof value === "string" && /^\s*(\{\s*\}|null)?\s*$/.test(value));
    if (!empty && !(isRecord(value) && Object.keys(value).length === 0)) {
      found.warnings.push(
        warning(
          [...path, "settings", key],
          "edgek8s runs its own Edge Agent; systemModules.edgeAgent's createOptions are not used",
        ),
      );
    }
  }
}

/** `myacr.azurecr.io`, whether written as such, with a scheme, or with a path. */
export function registryHost(address: string): string {
  return address
    .trim()
    .replace(/^[a-z]+:\/\//i, "")
    .split("/")[0]!
    .toLowerCase();
}

function buildRegistryCredentials(
  entries: Record<string, { address?: string; username?: string; password?: string }>,
  base: JsonPath,
  found: Findings,
  options: ParseOptions,
): RegistryCredential[] {
  const credentials: RegistryCredential[] = [];
  const hosts = new Map<string, string>();
  for (const [name, value] of Object.entries(entries)) {
    const at = [...base, name];
    if (value.address === undefined) {
      found.issues.push(issue([...at, "address"], "is required: the registry's host name"));
      continue;
    }
    const address = resolveUpstream(value.address.trim(), [...at, "address"], found, options);
    if (address === undefined) continue;
    const host = registryHost(address);
    const clash = hosts.get(host);
    if (clash !== undefined) {
      found.issues.push(issue([...at, "address"], `registry ${host} already has credentials "${clash}"`));
      continue;
    }
    hosts.set(host, name);
    credentials.push({ name, address: host, username: value.username ?? "", password: value.password ?? "" });
  }
  return credentials.sort((a, b) => compareText(a.name, b.name));
}
