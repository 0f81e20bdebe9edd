import { type EdgeDeploymentSpec, formatIssue, locateDesiredDocuments, parseManifest } from "@edgek8s/agent";
import type { ConfigIssue, StackConfig } from "./config.ts";

/**
 * Local mode: each device's manifest comes from a file in the repository and goes into the cluster
 * as the EdgeDeployment's spec. Files are read and validated at preview, so a broken manifest stops
 * the update before anything changes.
 */

export type ReadFile = (path: string) => string | undefined;

export type DesiredDocuments = Pick<EdgeDeploymentSpec, "edgeAgent" | "edgeHub">;

export function loadManifests(
  config: StackConfig,
  read: ReadFile,
): { ok: true; manifests: Map<string, DesiredDocuments> } | { ok: false; issues: ConfigIssue[] } {
  const manifests = new Map<string, DesiredDocuments>();
  const issues: ConfigIssue[] = [];
  for (const [deviceId, device] of Object.entries(config.devices)) {
    if (device.manifest === undefined) continue;
    const key = `edgek8s:devices.${deviceId}.manifest`;
    const text = read(device.manifest);
    if (text === undefined) {
      issues.push({ key, message: `${device.manifest} does not exist (paths are relative to the project root)` });
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      issues.push({ key, message: `${device.manifest} is not JSON: ${(error as Error).message}` });
      continue;
    }
    const parsed = parseManifest(json);
    if (!parsed.ok) {
      for (const problem of parsed.issues) issues.push({ key, message: `${device.manifest}: ${formatIssue(problem)}` });
      continue;
    }
    const docs = locateDesiredDocuments(json);
    if ("message" in docs) continue; // parseManifest has reported it
    manifests.set(deviceId, { edgeAgent: docs.edgeAgent, edgeHub: docs.edgeHub });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, manifests };
}
