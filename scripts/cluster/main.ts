// `npm run cluster:up` / `cluster:down` / `cluster:status`: a persistent local cluster (etcd,
// kube-apiserver, controller-manager, scheduler, kwok nodes) for the local run, its state and
// kubeconfig under .state/cluster in the repository.
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { startControlPlane } from "./controlPlane.ts";

export const STATE_DIR = fileURLToPath(new URL("../../.state/cluster/", import.meta.url));
export const KUBECONFIG = `${STATE_DIR}kubeconfig`;
const PIDS = `${STATE_DIR}pids.json`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function recordedPids(): Record<string, number> {
  return existsSync(PIDS) ? (JSON.parse(readFileSync(PIDS, "utf8")) as Record<string, number>) : {};
}

function running(): boolean {
  const pids = Object.values(recordedPids());
  return pids.length > 0 && pids.every(alive);
}

async function up(): Promise<void> {
  if (running()) {
    console.log(`cluster already running; kubeconfig: ${KUBECONFIG}`);
    return;
  }
  await down(true);
  mkdirSync(STATE_DIR, { recursive: true });
  const start = Date.now();
  console.log("starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok …");
  const plane = await startControlPlane({ full: true, nodes: 3, dir: STATE_DIR, detached: true });
  writeFileSync(PIDS, JSON.stringify(Object.fromEntries(plane.processes.map((p) => [p.name, p.pid])), null, 2));
  console.log(`cluster up in ${((Date.now() - start) / 1000).toFixed(1)} s: ${plane.server}, 3 kwok nodes`);
  console.log(`kubeconfig: ${KUBECONFIG}`);
  console.log(`logs:       ${STATE_DIR}logs/`);
}

async function down(quiet = false): Promise<void> {
  const pids = recordedPids();
  for (const pid of Object.values(pids).reverse()) if (alive(pid)) process.kill(pid, "SIGTERM");
  for (let i = 0; i < 50 && Object.values(pids).some(alive); i++) await sleep(100);
  for (const pid of Object.values(pids)) if (alive(pid)) process.kill(pid, "SIGKILL");
  rmSync(STATE_DIR, { recursive: true, force: true });
  if (!quiet)
    console.log(Object.keys(pids).length > 0 ? "cluster stopped and its state removed" : "no cluster was running");
}

function status(): void {
  const pids = recordedPids();
  if (Object.keys(pids).length === 0) {
    console.log("no cluster");
    process.exitCode = 1;
    return;
  }
  for (const [name, pid] of Object.entries(pids))
    console.log(`${name.padEnd(24)} pid ${pid} ${alive(pid) ? "running" : "STOPPED"}`);
  console.log(`kubeconfig: ${KUBECONFIG}`);
  if (!running()) process.exitCode = 1;
}

const commands: Record<string, () => Promise<void> | void> = { up, down: () => down(), status };
const command = commands[process.argv[2] ?? ""];
if (!command) {
  console.error("usage: node scripts/cluster/main.ts up|down|status");
  process.exit(2);
}
try {
  await command();
} catch (error) {
  console.error(`cluster: ${(error as Error).message}`);
  process.exit(1);
}
