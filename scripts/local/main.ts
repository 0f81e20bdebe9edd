// `npm run local [-- up|destroy|status]`: the README's main job. Brings the `local` stack up for
// real — local control plane, `pulumi up --stack local` with a file backend, the Edge Agent as a
// process — waits for every module, and prints a table of devices and module statuses.
import { execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parse, stringify } from "yaml";
import type { EdgeDeploymentSpec, EdgeDeploymentStatus } from "../../agent/src/crd/edgeDeployment.ts";
import type { EdgeReleaseSpec, EdgeReleaseStatus } from "../../agent/src/crd/edgeRelease.ts";
import { KubeClient, KubeError, type KubeObject, clusterConfigFromYaml } from "../../agent/src/kube/index.ts";
import { RESOURCES } from "../../agent/src/kube/resources.ts";
import { recordedState } from "../../agent/src/rollout/labels.ts";
import { clusterRunning, clusterUp, defaultClusterDir, hasRealNode, kubeconfigOf } from "../cluster/localCluster.ts";
import { toolPath } from "../cluster/tools.ts";
import { ROOT, configFile, ensureStack, forgetStack, runPulumi } from "./pulumi.ts";
import { type DeviceRow, type ReleaseRow, formatReleases, formatTable, settled } from "./table.ts";

const USAGE = `Usage: npm run local [-- COMMAND] [options]

Commands:
  up        (default) start the local cluster if needed, pulumi up --stack local, start the agent,
            wait until every module runs and print the devices and their modules
  destroy   pulumi destroy --stack local, then stop the agent (the cluster keeps running;
            add --cluster to stop it too)
  status    print the devices and their modules
  rollout TRACK [flags]
            edgek8s rollout TRACK --stack local (ring by ring; see scripts/run rollout --help)

Options:
  --timeout SECONDS   how long up waits for modules to run (default 180)
  --cluster           with destroy: also stop the local cluster
  --real-node         up: the cluster gets a real node (containerd, kubelet; root) instead of kwok
                      nodes, and the agent runs there as a Pod from its Helm release
  -h, --help          show this help

Environment: EDGEK8S_STATE (default .state) holds the cluster, the Pulumi file backend and the agent's
log. The local stack's secrets use an empty passphrase (PULUMI_CONFIG_PASSPHRASE); it holds none.`;

interface Options {
  readonly command: "up" | "destroy" | "status";
  readonly timeoutSeconds: number;
  readonly withCluster: boolean;
  readonly realNode: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Options {
  let command: Options["command"] = "up";
  let timeoutSeconds = 180;
  let withCluster = false;
  let realNode = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "up" || arg === "destroy" || arg === "status") command = arg;
    else if (arg === "--cluster") withCluster = true;
    else if (arg === "--real-node") realNode = true;
    else if (arg === "--timeout") {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value <= 0) throw new UsageError("--timeout: expected a whole number of seconds");
      timeoutSeconds = value;
    } else throw new UsageError(`unknown argument "${arg}"`);
  }
  return { command, timeoutSeconds, withCluster, realNode };
}

const state = process.env["EDGEK8S_STATE"] ?? join(ROOT, ".state");
const clusterDir = defaultClusterDir();
const agentDir = join(state, "agent");
const log = (line: string): void => {
  console.log(`[local] ${line}`);
};

function adminClient(): KubeClient {
  return new KubeClient(clusterConfigFromYaml(readFileSync(kubeconfigOf(clusterDir), "utf8"), clusterDir));
}

function agentPid(): number | undefined {
  const file = join(agentDir, "pid");
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8"));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function stopAgent(): Promise<void> {
  const pid = agentPid();
  if (pid === undefined) return;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 100 && agentPid() !== undefined; i++) await sleep(100);
  if (agentPid() !== undefined) process.kill(pid, "SIGKILL");
  rmSync(join(agentDir, "pid"), { force: true });
  log(`agent (pid ${String(pid)}) stopped`);
}

/**
 * Runs the agent as a process with the credentials of the ServiceAccount the Helm release made, so
 * the chart's RBAC is what it works with (the release's own pod runs on a kwok node, which runs no
 * containers).
 */
async function startAgent(): Promise<void> {
  await stopAgent();
  mkdirSync(agentDir, { recursive: true });
  const kubectl = (args: string[]) =>
    execFileSync(toolPath("kubectl"), ["--kubeconfig", kubeconfigOf(clusterDir), ...args], { encoding: "utf8" });
  const token = kubectl(["create", "token", "edgek8s-agent", "-n", "edgek8s-system", "--duration", "24h"]).trim();
  const admin = parse(readFileSync(kubeconfigOf(clusterDir), "utf8")) as {
    clusters: { cluster: Record<string, unknown> }[];
  };
  const cluster = admin.clusters[0]?.cluster ?? {};
  const kubeconfig = join(agentDir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "local", cluster }],
      users: [{ name: "edgek8s-agent", user: { token } }],
      contexts: [{ name: "agent", context: { cluster: "local", user: "edgek8s-agent" } }],
      "current-context": "agent",
    }),
    { mode: 0o600 },
  );
  // The release engine's flags as the chart renders them (on for a stack with tracks).
  const chartArgs = JSON.parse(
    kubectl([
      "get",
      "deployment",
      "edgek8s-agent",
      "-n",
      "edgek8s-system",
      "-o",
      "jsonpath={.spec.template.spec.containers[0].args}",
    ]) || "[]",
  ) as string[];
  const engineArgs = chartArgs.filter((a) => a.startsWith("--release-"));
  const out = openSync(join(agentDir, "agent.log"), "a");
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "agent/bin/edgek8s.js"),
      "agent",
      "--all-namespaces",
      "--kubeconfig",
      kubeconfig,
      "--listen",
      "127.0.0.1:0",
      ...engineArgs,
    ],
    { detached: true, stdio: ["ignore", out, out] },
  );
  closeSync(out);
  child.unref();
  writeFileSync(join(agentDir, "pid"), String(child.pid));
  log(
    `agent started (pid ${String(child.pid)}${engineArgs.length > 0 ? ", with the release engine" : ""}), as ServiceAccount edgek8s-system/edgek8s-agent; log: ${join(agentDir, "agent.log")}`,
  );
}

type EdgeDeploymentObject = KubeObject & { spec?: Partial<EdgeDeploymentSpec>; status?: EdgeDeploymentStatus };
type EdgeReleaseObject = KubeObject & { spec?: Partial<EdgeReleaseSpec>; status?: EdgeReleaseStatus };

async function deviceRows(client: KubeClient): Promise<DeviceRow[]> {
  const list = await client.list<EdgeDeploymentObject>(RESOURCES.EdgeDeployment);
  return list.items.map((item) => ({
    deviceId: item.spec?.deviceId ?? item.metadata?.name ?? "?",
    namespace: item.metadata?.namespace ?? "",
    ready: item.status?.conditions?.find((c) => c.type === "Ready")?.status === "True",
    modules: Object.values(item.status?.modules ?? {}).map((m) => ({
      name: m.name,
      runtimeStatus: m.runtimeStatus,
      restartCount: m.restartCount,
    })),
  }));
}

/** The stack's releases (local stacks with tracks); none when the EdgeRelease CRD is not installed. */
async function releaseRows(client: KubeClient): Promise<ReleaseRow[]> {
  const list = await client.list<EdgeReleaseObject>(RESOURCES.EdgeRelease).catch((error: unknown) => {
    if (error instanceof KubeError && error.status === 404) return { items: [] };
    throw error;
  });
  return list.items.map((item) => ({
    name: item.metadata?.name ?? "",
    track: item.spec?.track ?? "",
    priority: item.spec?.priority ?? 0,
    state: recordedState(item.spec?.labels ?? {}, item.spec?.targetCondition ?? ""),
    target: item.spec?.targetCondition ?? "",
    metrics: item.status?.systemMetrics ?? {},
    applied: item.status?.applied ?? [],
  }));
}

async function printReleases(): Promise<void> {
  const client = adminClient();
  try {
    const rows = await releaseRows(client);
    if (rows.length > 0) console.log(`${formatReleases(rows)}\n`);
  } finally {
    client.close();
  }
}

/**
 * Until every module runs; on a real node, until every device is ready or held back by a module that
 * cannot run: the example manifests name public images, which no registry here serves.
 */
async function waitForModules(timeoutSeconds: number, realNode = false): Promise<DeviceRow[]> {
  const client = adminClient();
  try {
    const deadline = Date.now() + timeoutSeconds * 1000;
    let last = "";
    for (;;) {
      const rows = await deviceRows(client).catch(() => []);
      const running = rows.flatMap((r) => r.modules).filter((m) => m.runtimeStatus === "running").length;
      const total = rows.flatMap((r) => r.modules).length;
      const line = `${String(rows.filter((r) => r.ready).length)}/${String(rows.length)} devices ready, ${String(running)}/${String(total)} modules running`;
      if (line !== last) log(line);
      last = line;
      // Every device ready, or held back by a module that cannot run (the rest wait on its startupOrder).
      const decided = rows.every(
        (r) => r.ready || r.modules.some((m) => ["backoff", "failed"].includes(m.runtimeStatus)),
      );
      if (settled(rows) || (realNode && rows.length > 0 && decided)) return rows;
      if (Date.now() > deadline) {
        throw new Error(`modules not running after ${String(timeoutSeconds)} s:\n${formatTable(rows)}`);
      }
      await sleep(500);
    }
  } finally {
    client.close();
  }
}

async function up(options: Options): Promise<void> {
  const start = Date.now();
  if (!clusterRunning(clusterDir)) {
    await clusterUp(clusterDir, log, { realNode: options.realNode });
    // Whatever the stack's state recorded lived in a cluster that is gone.
    mkdirSync(join(state, "pulumi"), { recursive: true });
    forgetStack(state);
  } else if (hasRealNode(clusterDir) !== options.realNode)
    throw new Error(
      `the running local cluster ${options.realNode ? "has no" : "has a"} real node: stop it first (npm run local -- destroy --cluster)`,
    );
  else log(`using the running local cluster (${kubeconfigOf(clusterDir)})`);
  ensureStack(state);
  log("pulumi up --stack local");
  const upStart = Date.now();
  await runPulumi(state, configFile(state, clusterDir), ["up", "--yes", "--skip-preview"]);
  log(`pulumi up took ${((Date.now() - upStart) / 1000).toFixed(1)} s`);
  if (options.realNode) log("the agent runs as a Pod on the real node, from the Helm release Pulumi made");
  else await startAgent();
  const rows = await waitForModules(options.timeoutSeconds, options.realNode);
  console.log(`\n${formatTable(rows)}\n`);
  await printReleases();
  if (options.realNode) await explainRealNode();
  log(`local stack up in ${((Date.now() - start) / 1000).toFixed(1)} s; tear down: npm run local -- destroy`);
}

/** Why modules on the real node do not run, as the agent reports it (from the pods, not a simulation). */
async function explainRealNode(): Promise<void> {
  const client = adminClient();
  try {
    const list = await client.list<EdgeDeploymentObject>(RESOURCES.EdgeDeployment);
    for (const item of list.items)
      for (const [id, m] of Object.entries(item.status?.modules ?? {}))
        if (m.runtimeStatus !== "running")
          log(`${item.spec?.deviceId ?? "?"}/${id}: ${m.statusDescription ?? m.runtimeStatus}`);
  } finally {
    client.close();
  }
}

async function destroy(options: Options): Promise<void> {
  const start = Date.now();
  if (clusterRunning(clusterDir)) {
    ensureStack(state);
    log("pulumi destroy --stack local");
    await runPulumi(state, configFile(state, clusterDir), ["destroy", "--yes", "--skip-preview"]);
  } else {
    log("no local cluster is running: nothing to destroy");
  }
  await stopAgent();
  if (options.withCluster) {
    const { clusterDown } = await import("../cluster/localCluster.ts");
    await clusterDown(clusterDir, log);
  }
  log(`destroyed in ${((Date.now() - start) / 1000).toFixed(1)} s`);
}

async function status(): Promise<void> {
  if (!clusterRunning(clusterDir)) {
    log("no local cluster is running");
    process.exitCode = 1;
    return;
  }
  const client = adminClient();
  try {
    console.log(formatTable(await deviceRows(client)));
    const releases = await releaseRows(client);
    if (releases.length > 0) console.log(`\n${formatReleases(releases)}`);
    log(agentPid() !== undefined ? "agent running" : "agent NOT running (npm run local starts it)");
  } finally {
    client.close();
  }
}

if (process.argv[2] === "rollout") {
  // The fleet rollout on the local stack: scripts/local/rollout.ts (its own flags and exit codes).
  const { localRollout } = await import("./rollout.ts");
  process.exitCode = await localRollout(process.argv.slice(3));
} else if (process.argv.includes("-h") || process.argv.includes("--help")) {
  console.log(USAGE);
} else {
  try {
    const options = parseArgs(process.argv.slice(2));
    await { up, destroy, status }[options.command](options);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`local: ${error.message}\n${USAGE}`);
      process.exit(2);
    }
    console.error(`local: ${(error as Error).message}`);
    process.exit(1);
  }
}
