import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { compareText } from "@edgek8s/agent";

/** The agent chart shipped with the agent package, installed from this directory. */
export const AGENT_CHART = dirname(fileURLToPath(import.meta.resolve("@edgek8s/agent/chart")));
export const AGENT_RELEASE = "edgek8s-agent";

/** sha256 over the chart's files (paths and contents), in ordinal order: the same digest on every machine. */
export function chartDigest(dir: string): string {
  const hash = createHash("sha256");
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => compareText(a.name, b.name))) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else hash.update(relative(dir, full)).update("\0").update(readFileSync(full)).update("\0");
    }
  };
  walk(dir);
  return hash.digest("hex");
}

let digest: string | undefined;
/** The agent chart's digest, computed once per program run. */
export function agentChartDigest(): string {
  digest ??= chartDigest(AGENT_CHART);
  return digest;
}

/**
 * The release description. A Helm release of a chart directory changes only when its inputs do, and
 * a template edit changes none of them; carrying the chart's digest here makes it an upgrade (and
 * `helm history` shows which chart content each revision installed).
 */
export function agentReleaseDescription(chartSha256: string): string {
  return `edgek8s agent chart sha256:${chartSha256}`;
}
