// A persistent local cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok nodes) whose
// processes outlive the command that started them; state, logs and kubeconfig live in one folder.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { startControlPlane } from "./controlPlane.ts";
import { cleanUp, readState } from "./realNode/cleanup.ts";

/** `.state/cluster` in the repository, unless EDGEK8S_STATE names another state folder. */
export function defaultClusterDir(env: NodeJS.ProcessEnv = process.env): string {
  const state = env["EDGEK8S_STATE"] ?? fileURLToPath(new URL("../../.state", import.meta.url));
  return join(state, "cluster");
}

export const kubeconfigOf = (dir: string): string => join(dir, "kubeconfig");
const pidsOf = (dir: string): string => join(dir, "pids.json");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function recordedPids(dir: string): Record<string, number> {
  const file = pidsOf(dir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, number>) : {};
}

export function clusterRunning(dir: string): boolean {
  const pids = Object.values(recordedPids(dir));
  return pids.length > 0 && pids.every(alive);
}

/** Whether the cluster in `dir` has a real node (scripts/cluster/realNode) rather than kwok nodes. */
export const hasRealNode = (dir: string): boolean => readState(join(dir, "node")) !== undefined;

/**
 * Starts the cluster: 3 kwok nodes, or with `realNode` one real node (root, Debian's containerd;
 * the agent image from scripts/image imported, so the chart's default image runs as is).
 */
export async function clusterUp(
  dir: string,
  log: (line: string) => void = console.log,
  options: { realNode?: boolean } = {},
): Promise<void> {
  if (clusterRunning(dir)) {
    log(`cluster already running; kubeconfig: ${kubeconfigOf(dir)}`);
    return;
  }
  await clusterDown(dir, () => undefined);
  mkdirSync(dir, { recursive: true });
  const start = Date.now();
  const realNode = options.realNode
    ? {
        images: [
          execFileSync(fileURLToPath(new URL("../image", import.meta.url)), ["--ref", "agent"], {
            encoding: "utf8",
          }).trim(),
        ],
      }
    : undefined;
  log(
    `starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and ${realNode ? "a real node (containerd, kubelet, kube-proxy, CoreDNS)" : "kwok"} …`,
  );
  const plane = await startControlPlane({ full: true, nodes: realNode ? 0 : 3, dir, detached: true, realNode });
  const processes = [...plane.processes, ...(plane.realNode?.processes ?? [])];
  writeFileSync(pidsOf(dir), JSON.stringify(Object.fromEntries(processes.map((p) => [p.name, p.pid])), null, 2));
  log(
    `cluster up in ${((Date.now() - start) / 1000).toFixed(1)} s: ${plane.server}, ${realNode ? "a real node" : "3 kwok nodes"}`,
  );
  log(`kubeconfig: ${kubeconfigOf(dir)}`);
  log(`logs:       ${join(dir, "logs")}/`);
}

export async function clusterDown(dir: string, log: (line: string) => void = console.log): Promise<void> {
  const pids = recordedPids(dir);
  for (const pid of Object.values(pids).reverse()) if (alive(pid)) process.kill(pid, "SIGTERM");
  for (let i = 0; i < 50 && Object.values(pids).some(alive); i++) await sleep(100);
  for (const pid of Object.values(pids)) if (alive(pid)) process.kill(pid, "SIGKILL");
  // A real node's containers, mounts, cgroups and network go with it.
  const node = readState(join(dir, "node"));
  if (node) await cleanUp(node);
  rmSync(dir, { recursive: true, force: true });
  log(Object.keys(pids).length > 0 ? "cluster stopped and its state removed" : "no cluster was running");
}

export function clusterStatus(dir: string, log: (line: string) => void = console.log): boolean {
  const pids = recordedPids(dir);
  if (Object.keys(pids).length === 0) {
    log("no cluster");
    return false;
  }
  for (const [name, pid] of Object.entries(pids))
    log(`${name.padEnd(24)} pid ${pid} ${alive(pid) ? "running" : "STOPPED"}`);
  log(`kubeconfig: ${kubeconfigOf(dir)}`);
  return clusterRunning(dir);
}
