import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

/**
 * The work behind the `HelmRelease` dynamic resource: a real Helm release, installed, upgraded and
 * uninstalled with the `helm` CLI ($EDGEK8S_HELM, else `helm` on PATH), so `helm list` and `helm
 * rollback` work as platform teams expect.
 */

export interface HelmReleaseInputs {
  readonly kubeconfig: string;
  readonly context?: string | undefined;
  readonly name: string;
  readonly namespace: string;
  /** Chart directory on the machine running Pulumi. */
  readonly chart: string;
  /** sha256 of the chart's files: a changed chart upgrades the release even when values did not change. */
  readonly chartDigest: string;
  readonly values: Record<string, unknown>;
  /** Seconds `helm` waits for the release's workloads to become ready. */
  readonly timeoutSeconds: number;
}

export interface HelmReleaseOutputs extends HelmReleaseInputs {
  readonly revision: number;
  readonly status: string;
}

export function chartDigest(dir: string): string {
  const hash = createHash("sha256");
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else hash.update(relative(dir, full)).update("\0").update(readFileSync(full)).update("\0");
    }
  };
  walk(dir);
  return hash.digest("hex");
}

export function diffHelmRelease(
  olds: HelmReleaseInputs,
  news: HelmReleaseInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const replaces = (["name", "namespace", "context"] as const).filter((k) => (olds[k] ?? "") !== (news[k] ?? ""));
  const changes =
    replaces.length > 0 ||
    olds.chartDigest !== news.chartDigest ||
    olds.kubeconfig !== news.kubeconfig ||
    olds.timeoutSeconds !== news.timeoutSeconds ||
    JSON.stringify(olds.values) !== JSON.stringify(news.values);
  return { changes, replaces, deleteBeforeReplace: replaces.length > 0 };
}

export type HelmRunner = (args: string[]) => Promise<string>;

/** Runs the helm CLI; its stderr becomes the error message (helm never prints the kubeconfig). */
export const runHelm: HelmRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile(process.env["EDGEK8S_HELM"] ?? "helm", args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`helm ${args[0] ?? ""}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });

/** Writes the kubeconfig and values to a private temporary folder for the length of one helm call. */
async function withFiles<T>(
  inputs: HelmReleaseInputs,
  work: (kubeArgs: string[], valuesFile: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "edgek8s-helm-"));
  try {
    const kubeconfig = join(dir, "kubeconfig");
    const values = join(dir, "values.json");
    writeFileSync(kubeconfig, inputs.kubeconfig, { mode: 0o600 });
    writeFileSync(values, JSON.stringify(inputs.values), { mode: 0o600 });
    const kubeArgs = ["--kubeconfig", kubeconfig, ...(inputs.context ? ["--kube-context", inputs.context] : [])];
    return await work(kubeArgs, values);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ReleaseStatus {
  readonly version?: number;
  readonly info?: { status?: string };
}

async function installOrUpgrade(
  command: "install" | "upgrade",
  inputs: HelmReleaseInputs,
  helm: HelmRunner,
): Promise<HelmReleaseOutputs> {
  return withFiles(inputs, async (kubeArgs, values) => {
    const out = await helm([
      command,
      inputs.name,
      inputs.chart,
      "--namespace",
      inputs.namespace,
      "--values",
      values,
      "--wait",
      "--timeout",
      `${String(inputs.timeoutSeconds)}s`,
      "--output",
      "json",
      ...kubeArgs,
    ]);
    const status = JSON.parse(out) as ReleaseStatus;
    return { ...inputs, revision: status.version ?? 0, status: status.info?.status ?? "unknown" };
  });
}

/** `helm install`: a release of that name already there is an error, never an adoption. */
export function installRelease(inputs: HelmReleaseInputs, helm: HelmRunner = runHelm): Promise<HelmReleaseOutputs> {
  return installOrUpgrade("install", inputs, helm);
}

export function upgradeRelease(inputs: HelmReleaseInputs, helm: HelmRunner = runHelm): Promise<HelmReleaseOutputs> {
  return installOrUpgrade("upgrade", inputs, helm);
}

/** `helm uninstall --wait`; a release that is already gone is success. */
export async function uninstallRelease(inputs: HelmReleaseInputs, helm: HelmRunner = runHelm): Promise<void> {
  await withFiles(inputs, async (kubeArgs) => {
    try {
      await helm(["uninstall", inputs.name, "--namespace", inputs.namespace, "--wait", ...kubeArgs]);
    } catch (error) {
      if (!/release: not found/.test((error as Error).message)) throw error;
    }
  });
}
