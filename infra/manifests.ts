import {
  type EdgeDeploymentSpec,
  type ModulesContent,
  formatIssue,
  isRecord,
  locateDesiredDocuments,
  parseManifest,
} from "@edgek8s/agent";
import type { ConfigIssue, StackConfig } from "./config.ts";

/**
 * Local mode: each device's manifest comes from a file in the repository and goes into the cluster
 * as the EdgeDeployment's spec. Files are read and validated at preview, so a broken manifest stops
 * the update before anything changes.
 */

export type ReadFile = (path: string) => string | undefined;

export type DesiredDocuments = Pick<EdgeDeploymentSpec, "edgeAgent" | "edgeHub">;

/** A manifest file's JSON, or undefined with the issue (under `key`) when it is missing or not JSON. */
function readJson(read: ReadFile, path: string, key: string, issues: ConfigIssue[]): { json: unknown } | undefined {
  const text = read(path);
  if (text === undefined) {
    issues.push({ key, message: `${path} does not exist (paths are relative to the project root)` });
    return undefined;
  }
  try {
    return { json: JSON.parse(text) as unknown };
  } catch (error) {
    issues.push({ key, message: `${path} is not JSON: ${(error as Error).message}` });
    return undefined;
  }
}

/** One manifest file read and validated: its desired documents, or its problems (messages without a key). */
type LoadedManifest = { readonly docs: DesiredDocuments } | { readonly problems: readonly string[] };

function loadManifest(read: ReadFile, path: string): LoadedManifest {
  const problems: ConfigIssue[] = [];
  const file = readJson(read, path, "", problems);
  if (!file) return { problems: problems.map((p) => p.message) };
  const parsed = parseManifest(file.json);
  if (!parsed.ok) return { problems: parsed.issues.map((problem) => `${path}: ${formatIssue(problem)}`) };
  const docs = locateDesiredDocuments(file.json);
  // parseManifest has reported a manifest without its documents.
  if ("message" in docs) return { problems: [] };
  return { docs: { edgeAgent: docs.edgeAgent, edgeHub: docs.edgeHub } };
}

/**
 * Each device's desired documents. A fleet shares a few manifest files, so each file is read and
 * validated once, however many devices name it; its problems are reported under each device's key.
 */
export function loadManifests(
  config: StackConfig,
  read: ReadFile,
): { ok: true; manifests: Map<string, DesiredDocuments> } | { ok: false; issues: ConfigIssue[] } {
  const manifests = new Map<string, DesiredDocuments>();
  const issues: ConfigIssue[] = [];
  const files = new Map<string, LoadedManifest>();
  for (const [deviceId, device] of Object.entries(config.devices)) {
    if (device.manifest === undefined) continue;
    let loaded = files.get(device.manifest);
    if (loaded === undefined) {
      loaded = loadManifest(read, device.manifest);
      files.set(device.manifest, loaded);
    }
    const key = `edgek8s:devices.${deviceId}.manifest`;
    if ("docs" in loaded) manifests.set(deviceId, loaded.docs);
    else issues.push(...loaded.problems.map((message) => ({ key, message })));
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, manifests };
}

/**
 * Each track's `modulesContent`, read from its manifest at preview: a base track's manifest is
 * validated as a device's is (it must run on its own); a layer's holds dot paths on top of a base,
 * so only its shape is checked here and its rules by the limits policy. The file may be IoT Hub's
 * deployment format (`{modulesContent}`), a configuration as the Azure CLI prints it
 * (`{content: {modulesContent}}`), or the modules content itself.
 */
export function loadTrackManifests(
  config: StackConfig,
  read: ReadFile,
): { ok: true; tracks: Map<string, ModulesContent> } | { ok: false; issues: ConfigIssue[] } {
  const tracks = new Map<string, ModulesContent>();
  const issues: ConfigIssue[] = [];
  for (const [name, track] of Object.entries(config.tracks)) {
    const key = `edgek8s:tracks.${name}.manifest`;
    const file = readJson(read, track.manifest, key, issues);
    if (!file) continue;
    const { json } = file;
    const wrapped = isRecord(json) && isRecord(json["content"]) ? json["content"] : json;
    const content = isRecord(wrapped) && "modulesContent" in wrapped ? wrapped["modulesContent"] : wrapped;
    if (!isRecord(content) || !isRecord(content["$edgeAgent"])) {
      issues.push({ key, message: `${track.manifest}: modulesContent must hold a $edgeAgent object (at least {})` });
      continue;
    }
    if (!track.layer) {
      const parsed = parseManifest(json);
      if (!parsed.ok) {
        for (const problem of parsed.issues)
          issues.push({ key, message: `${track.manifest}: ${formatIssue(problem)}` });
        continue;
      }
    }
    tracks.set(name, content as ModulesContent);
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, tracks };
}
