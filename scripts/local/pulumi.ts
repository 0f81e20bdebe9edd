// Running the real Pulumi CLI offline for the local stack: a file backend and plugin home inside the
// state folder, the Kubernetes provider installed there from the project's build, no update checks or
// plugin downloads, this Node first on PATH.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { kubeconfigOf } from "../cluster/localCluster.ts";
import { pinnedVersions, toolPath } from "../cluster/tools.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const STACK = "local";

export function pulumiEnv(state: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // This Node first (the language host runs `node`), then the CLI and the language and
    // dynamic-provider hosts that scripts/tools links beside it.
    PATH: [dirname(process.execPath), dirname(toolPath("pulumi")), process.env["PATH"]].join(":"),
    PULUMI_HOME: join(state, "pulumi-home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_CONFIG_PASSPHRASE: process.env["PULUMI_CONFIG_PASSPHRASE"] ?? "",
    PULUMI_BACKEND_URL: `file://${join(state, "pulumi")}`,
    NODE_OPTIONS: [process.env["NODE_OPTIONS"], "--no-deprecation"].filter(Boolean).join(" "),
  };
}

/**
 * The stack's config file. With the default state folder it is Pulumi.local.yaml itself; with
 * another (EDGEK8S_STATE) a copy whose local cluster points at that folder's kubeconfig.
 */
export function configFile(state: string, clusterDir: string): string {
  const original = join(ROOT, "Pulumi.local.yaml");
  const kubeconfig = kubeconfigOf(clusterDir);
  const doc = parse(readFileSync(original, "utf8")) as { config: Record<string, unknown> };
  const clusters = doc.config["edgek8s:clusters"] as Record<string, { kubeconfig?: string }>;
  const local = clusters["local"];
  if (!local || join(ROOT, local.kubeconfig ?? "") === kubeconfig) return original;
  local.kubeconfig = kubeconfig;
  const derived = join(state, "Pulumi.local.yaml");
  writeFileSync(derived, stringify(doc));
  return derived;
}

/** Runs `pulumi <args> --stack local`, its output shown as it comes. */
export async function runPulumi(state: string, configPath: string, args: readonly string[]): Promise<void> {
  const child = spawn(
    toolPath("pulumi"),
    [...args, "--stack", STACK, "--non-interactive", "--config-file", configPath],
    {
      cwd: ROOT,
      env: pulumiEnv(state),
      stdio: "inherit",
    },
  );
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`pulumi ${args[0] ?? ""} failed (exit ${String(code)})`);
}

/**
 * Installs the Kubernetes provider plugin built by `scripts/tools` into the state folder's plugin
 * home (once), so the CLI never looks for it on the network.
 */
export function ensurePlugins(state: string): void {
  const version = pinnedVersions()["PULUMI_KUBERNETES_VERSION"] ?? "";
  const installed = join(
    state,
    "pulumi-home",
    "plugins",
    `resource-kubernetes-v${version}`,
    "pulumi-resource-kubernetes",
  );
  if (existsSync(installed)) return;
  const args = [
    "plugin",
    "install",
    "resource",
    "kubernetes",
    version,
    "--file",
    toolPath("pulumi-resource-kubernetes"),
  ];
  execFileSync(toolPath("pulumi"), args, { env: pulumiEnv(state), stdio: "pipe" });
}

/** Selects the local stack in the state folder's backend, creating it on first use; installs the plugins. */
export function ensureStack(state: string): void {
  mkdirSync(join(state, "pulumi"), { recursive: true });
  ensurePlugins(state);
  const env = pulumiEnv(state);
  const pulumi = toolPath("pulumi");
  try {
    execFileSync(pulumi, ["stack", "select", STACK, "--non-interactive"], { cwd: ROOT, env, stdio: "pipe" });
  } catch {
    execFileSync(pulumi, ["stack", "init", STACK, "--secrets-provider", "passphrase", "--non-interactive"], {
      cwd: ROOT,
      env,
      stdio: "pipe",
    });
  }
}

/**
 * Forgets the local stack's state. Used when the local cluster has just been started afresh: the
 * objects the state records lived in the cluster that is gone, so the state describes nothing.
 */
export function forgetStack(state: string): void {
  const env = pulumiEnv(state);
  // --preserve-config: Pulumi.local.yaml is the repository's, not the state's.
  const args = ["stack", "rm", STACK, "--force", "--yes", "--preserve-config", "--non-interactive"];
  try {
    execFileSync(toolPath("pulumi"), args, { cwd: ROOT, env, stdio: "pipe" });
  } catch {
    // No such stack yet: nothing to forget.
  }
}
