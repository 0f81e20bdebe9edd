import { type DesiredDocuments, locateDesiredDocuments } from "./document.ts";
import { type JsonPath, type ManifestIssue, type ManifestWarning, issue } from "./issues.ts";
import {
  type DeploymentManifest,
  EDGE_HUB_MODULE_ID,
  type EdgeHubConfig,
  type ModuleSpec,
  type RegistryCredential,
  type Route,
} from "./model.ts";
import { buildModule, parseContainerSettings, reportUnknownKeys } from "./moduleSpec.ts";
import {
  CREATE_OPTIONS_CHUNK,
  EDGE_AGENT_SCHEMA_VERSIONS,
  EDGE_HUB_SCHEMA_VERSIONS,
  type EdgeAgentDesiredInput,
  type EdgeHubDesiredInput,
  KNOWN_KEYS,
  edgeAgentDesiredSchema,
  edgeHubDesiredSchema,
  edgeHubModuleSchema,
  userModuleSchema,
} from "./schema.ts";
import { fromZod } from "./zodIssues.ts";
import { k8sName } from "../naming/k8sName.ts";

export type ParseResult =
  | { readonly ok: true; readonly manifest: DeploymentManifest; readonly warnings: readonly ManifestWarning[] }
  | { readonly ok: false; readonly issues: readonly ManifestIssue[]; readonly warnings: readonly ManifestWarning[] };

/** IoT Hub's limit on module ids, and the characters DESIGN §5 allows. */
export const MAX_MODULE_ID_LENGTH = 128;
const MODULE_ID = /^[a-zA-Z0-9_-]+$/;

/** Parses a whole manifest file's content (any accepted shape, see locateDesiredDocuments). */
export function parseManifest(input: unknown): ParseResult {
  const documents = locateDesiredDocuments(input);
  if ("message" in documents) return { ok: false, issues: [documents], warnings: [] };
  return parseDesired(documents);
}

function schemaVersionIssue(doc: unknown, path: JsonPath, known: readonly string[]): ManifestIssue | undefined {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return issue(path, "must be an object (the desired properties)");
  }
  const version = (doc as Record<string, unknown>)["schemaVersion"];
  if (version === undefined) return issue([...path, "schemaVersion"], `is required (one of ${known.join(", ")})`);
  if (typeof version !== "string") return issue([...path, "schemaVersion"], "must be a string");
  if (!known.includes(version)) {
    return issue(
      [...path, "schemaVersion"],
      `unknown schema version "${version}": expected one of ${known.join(", ")}`,
      "unknownSchemaVersion",
    );
  }
  return undefined;
}

/** Parses the two desired documents, wherever they came from (a file, an EdgeDeployment spec, a twin). */
export function parseDesired(docs: DesiredDocuments): ParseResult {
  // IoT Edge's 417: "the device doesn't have a deployment configuration set" (a local device in a
  // track before the release engine writes it).
  if (docs.edgeAgent === undefined) {
    const unset = issue(docs.edgeAgentPath, "is not set: no deployment has reached this device yet", "empty");
    return { ok: false, issues: [unset], warnings: [] };
  }
  // In hub mode edgeHub reads its own twin; the EdgeDeployment then carries no $edgeHub document.
  const checkHub = !(docs.edgeHubFromTwin === true && docs.edgeHub === undefined);
  const versionIssues = [
    schemaVersionIssue(docs.edgeAgent, docs.edgeAgentPath, EDGE_AGENT_SCHEMA_VERSIONS),
    checkHub ? schemaVersionIssue(docs.edgeHub, docs.edgeHubPath, EDGE_HUB_SCHEMA_VERSIONS) : undefined,
  ].filter((i): i is ManifestIssue => i !== undefined);
  if (versionIssues.length > 0) return { ok: false, issues: versionIssues, warnings: [] };

  const issues: ManifestIssue[] = [];
  const warnings: ManifestWarning[] = [];
  const found = { issues, warnings };
  const agentResult = edgeAgentDesiredSchema.safeParse(docs.edgeAgent);
  const hubResult = checkHub ? edgeHubDesiredSchema.safeParse(docs.edgeHub) : undefined;
  if (!agentResult.success) issues.push(...fromZod(agentResult.error, docs.edgeAgentPath));
  if (hubResult && !hubResult.success) issues.push(...fromZod(hubResult.error, docs.edgeHubPath));
  // Modules are checked even when the rest is broken, so the user sees every problem at once.
  const modules = buildModules(docs.edgeAgent as Record<string, unknown>, docs.edgeAgentPath, found);
  if (!agentResult.success || (hubResult && !hubResult.success)) return { ok: false, issues, warnings };

  const agent = agentResult.data;
  const edgeHub = hubResult ? buildEdgeHub(hubResult.data, docs.edgeHubPath, found) : undefined;
  const registryCredentials = buildRegistryCredentials(agent, docs.edgeAgentPath, found);
  reportUnknownKeys(agent, KNOWN_KEYS.edgeAgentDesired, docs.edgeAgentPath, warnings);
  if (hubResult) reportUnknownKeys(hubResult.data, KNOWN_KEYS.edgeHubDesired, docs.edgeHubPath, warnings);
  if (issues.length > 0) return { ok: false, issues, warnings };
  return {
    ok: true,
    manifest: {
      schemaVersion: agent.schemaVersion,
      edgeAgentImage: agent.systemModules.edgeAgent.settings.image,
      registryCredentials,
      modules,
      edgeHub,
    },
    warnings,
  };
}

interface Findings {
  issues: ManifestIssue[];
  warnings: ManifestWarning[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

interface ModuleEntry {
  readonly id: string;
  readonly path: JsonPath;
  readonly system: boolean;
  readonly input: unknown;
}

function moduleEntries(agent: Record<string, unknown>, base: JsonPath): ModuleEntry[] {
  const system = isObject(agent["systemModules"]) ? agent["systemModules"]["edgeHub"] : undefined;
  const user = isObject(agent["modules"]) ? agent["modules"] : {};
  return [
    ...(system === undefined
      ? []
      : [{ id: EDGE_HUB_MODULE_ID, path: [...base, "systemModules", "edgeHub"], system: true, input: system }]),
    ...Object.entries(user).map(([id, input]) => ({ id, path: [...base, "modules", id], system: false, input })),
  ];
}

function buildModules(agent: Record<string, unknown>, base: JsonPath, found: Findings): ModuleSpec[] {
  const modules: ModuleSpec[] = [];
  const byName = new Map<string, string>();
  const schemaVersion = agent["schemaVersion"];
  for (const entry of moduleEntries(agent, base)) {
    if (!entry.system && !MODULE_ID.test(entry.id)) {
      found.issues.push(issue(entry.path, "module id may only contain letters, digits, '-' and '_'"));
      continue;
    }
    if (entry.id.length > MAX_MODULE_ID_LENGTH) {
      found.issues.push(
        issue(entry.path, `module id is ${entry.id.length} characters; IoT Hub allows at most ${MAX_MODULE_ID_LENGTH}`),
      );
      continue;
    }
    const name = k8sName(entry.id);
    const clash = byName.get(name);
    if (clash !== undefined) {
      found.issues.push(
        issue(entry.path, `module ids "${clash}" and "${entry.id}" both become the Kubernetes name "${name}"`),
      );
      continue;
    }
    byName.set(name, entry.id);
    const parsed = (entry.system ? edgeHubModuleSchema : userModuleSchema).safeParse(entry.input);
    if (!parsed.success) {
      found.issues.push(...fromZod(parsed.error, entry.path));
      const settings = isObject(entry.input) ? entry.input["settings"] : undefined;
      if (isObject(settings)) parseContainerSettings(settings, entry.path, found);
      continue;
    }
    const input = parsed.data;
    if (input.startupOrder !== undefined && schemaVersion === "1.0") {
      found.issues.push(issue([...entry.path, "startupOrder"], 'needs $edgeAgent schemaVersion "1.1"'));
    }
    reportUnknownKeys(input, KNOWN_KEYS.module, entry.path, found.warnings);
    reportUnknownKeys(input.settings, KNOWN_KEYS.settings, [...entry.path, "settings"], found.warnings, (k) =>
      CREATE_OPTIONS_CHUNK.test(k),
    );
    const spec = buildModule(entry.id, input, entry.path, entry.system, found);
    if (spec) modules.push(spec);
  }
  checkVolumeNames(modules, found);
  return modules.sort((a, b) => a.k8sName.localeCompare(b.k8sName));
}

/** Two Docker volume names that sanitise to one PersistentVolumeClaim name would share data by accident. */
function checkVolumeNames(modules: readonly ModuleSpec[], found: Findings): void {
  const byName = new Map<string, string>();
  for (const module of modules) {
    for (const mount of module.mounts) {
      if (mount.kind !== "volume") continue;
      const name = k8sName(mount.source);
      const clash = byName.get(name);
      if (clash !== undefined && clash !== mount.source) {
        found.issues.push(
          issue(
            [module.path, "settings", "createOptions", "HostConfig"],
            `volumes "${clash}" and "${mount.source}" both become the claim name "${name}"`,
          ),
        );
      }
      byName.set(name, mount.source);
    }
  }
}

const ROUTE_SYNTAX = /^\s*FROM\s+\S+[\s\S]*\s+INTO\s+\S+/i;

function buildEdgeHub(hub: EdgeHubDesiredInput, base: JsonPath, found: Findings): EdgeHubConfig {
  const routes: Route[] = [];
  for (const [name, value] of Object.entries(hub.routes)) {
    const path = [...base, "routes", name];
    const route = typeof value === "string" ? { route: value } : value;
    if (typeof value !== "string" && hub.schemaVersion === "1.0") {
      found.issues.push(issue(path, 'route objects need $edgeHub schemaVersion "1.1" or later'));
    }
    if (!ROUTE_SYNTAX.test(route.route)) {
      found.issues.push(
        issue(
          typeof value === "string" ? path : [...path, "route"],
          'is not a route: expected "FROM <source> [WHERE <condition>] INTO <sink>"',
        ),
      );
    }
    routes.push({ name, route: route.route, priority: route.priority, timeToLiveSecs: route.timeToLiveSecs });
  }
  return {
    schemaVersion: hub.schemaVersion,
    routes: routes.sort((a, b) => a.name.localeCompare(b.name)),
    storeAndForwardTimeToLiveSecs: hub.storeAndForwardConfiguration?.timeToLiveSecs,
  };
}

/** `myacr.azurecr.io`, whether written as such, with a scheme, or with a path. */
export function registryHost(address: string): string {
  return address
    .trim()
    .replace(/^[a-z]+:\/\//i, "")
    .split("/")[0]!
    .toLowerCase();
}

function buildRegistryCredentials(agent: EdgeAgentDesiredInput, base: JsonPath, found: Findings): RegistryCredential[] {
  const credentials: RegistryCredential[] = [];
  const hosts = new Map<string, string>();
  for (const [name, value] of Object.entries(agent.runtime.settings?.registryCredentials ?? {})) {
    const host = registryHost(value.address);
    const clash = hosts.get(host);
    if (clash !== undefined) {
      found.issues.push(
        issue(
          [...base, "runtime", "settings", "registryCredentials", name, "address"],
          `registry ${host} already has credentials "${clash}"`,
        ),
      );
      continue;
    }
    hosts.set(host, name);
    credentials.push({ name, address: host, username: value.username, password: value.password });
  }
  return credentials.sort((a, b) => a.name.localeCompare(b.name));
}
