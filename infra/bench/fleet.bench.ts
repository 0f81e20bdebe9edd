// Prints how long a real `pulumi up` and `pulumi destroy` of many local-mode devices take on a local
// cluster (real CLI, real Kubernetes provider plugin, real API server; no mocks), and the peak RSS of
// the provider process. Numbers only; nothing here fails on timing.
//   node infra/bench/fleet.bench.ts [devices]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { clusterDown, clusterUp, kubeconfigOf } from "../../scripts/cluster/localCluster.ts";
import { toolPath } from "../../scripts/cluster/tools.ts";
import { ROOT, STACK, ensureStack, pulumiEnv } from "../../scripts/local/pulumi.ts";

const count = Number(process.argv[2] ?? 100);
const state = mkdtempSync(join(tmpdir(), "edgek8s-fleet-"));
const clusterDir = join(state, "cluster");

/** Peak resident memory (VmHWM, MiB) of the live descendants of `root` whose command line matches. */
function peakRssOf(root: number, match: RegExp, seen: Map<number, number>): void {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === root) return true;
    return false;
  };
  for (const pid of parents.keys()) {
    if (!descends(pid)) continue;
    try {
      if (!match.test(readFileSync(`/proc/${String(pid)}/cmdline`, "utf8"))) continue;
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(pid)}/status`, "utf8"))?.[1];
      if (hwm !== undefined) seen.set(pid, Math.max(seen.get(pid) ?? 0, Number(hwm) / 1024));
    } catch {
      // gone meanwhile
    }
  }
}

async function timedPulumi(
  configPath: string,
  args: string[],
): Promise<{ seconds: number; providerMiB: number; out: string }> {
  const start = performance.now();
  const child = spawn(
    toolPath("pulumi"),
    [...args, "--stack", STACK, "--non-interactive", "--config-file", configPath],
    {
      cwd: ROOT,
      env: pulumiEnv(state),
    },
  );
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const seen = new Map<number, number>();
  const sampler = setInterval(() => {
    peakRssOf(child.pid ?? -1, /pulumi-resource-kubernetes/, seen);
  }, 200);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`pulumi ${args[0] ?? ""} failed:\n${out.slice(-4000)}`);
  return { seconds: (performance.now() - start) / 1000, providerMiB: Math.max(0, ...seen.values()), out };
}

try {
  await clusterUp(clusterDir, () => undefined);
  ensureStack(state);
  const doc = parse(readFileSync(join(ROOT, "Pulumi.local.yaml"), "utf8")) as { config: Record<string, unknown> };
  const devices: Record<string, unknown> = {};
  for (let i = 0; i < count; i++)
    devices[`line${String(i)}-gw`] = { cluster: "local", manifest: "deployments/quickstart.json" };
  doc.config["edgek8s:clusters"] = { local: { kubeconfig: kubeconfigOf(clusterDir), agent: { mode: "cluster" } } };
  doc.config["edgek8s:devices"] = devices;
  const configPath = join(state, "Pulumi.fleet.yaml");
  writeFileSync(configPath, stringify(doc));
  const up = await timedPulumi(configPath, ["up", "--yes", "--skip-preview"]);
  const created = /(\d+) created/.exec(up.out)?.[1] ?? "?";
  console.log(
    `pulumi up, ${String(count)} devices (${created} resources created): ${up.seconds.toFixed(1)} s, ` +
      `provider peak RSS ${up.providerMiB.toFixed(0)} MiB`,
  );
  const again = await timedPulumi(configPath, ["up", "--yes", "--skip-preview"]);
  console.log(
    `pulumi up again, nothing to change: ${again.seconds.toFixed(1)} s, provider peak RSS ${again.providerMiB.toFixed(0)} MiB`,
  );
  const destroy = await timedPulumi(configPath, ["destroy", "--yes", "--skip-preview"]);
  console.log(
    `pulumi destroy: ${destroy.seconds.toFixed(1)} s, provider peak RSS ${destroy.providerMiB.toFixed(0)} MiB`,
  );
} finally {
  await clusterDown(clusterDir, () => undefined);
  rmSync(state, { recursive: true, force: true });
}
