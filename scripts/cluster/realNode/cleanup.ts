// Stopping a real node leaves nothing behind: no process, mount, cgroup, network device or namespace.
// Works from the node's state file alone, so `cluster:down` and a later start can clean up after a
// process that was killed.
import { existsSync, readFileSync, readdirSync, readlinkSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { paths } from "./config.ts";
import { type NodeNetwork, namespaceInode, releaseSlot, run } from "./namespaces.ts";

export interface NodeState {
  readonly dir: string;
  readonly network: NodeNetwork;
  readonly cgroupRoot: string;
  /** Inodes of the node's network and mount namespaces. */
  readonly netnsInode: string | undefined;
  readonly mntnsInode: string | undefined;
}

const CGROUP_BASE = "/sys/fs/cgroup";

export function writeState(state: NodeState): void {
  writeFileSync(paths(state.dir).state, JSON.stringify(state, null, 2));
}

export function readState(dir: string): NodeState | undefined {
  const file = paths(dir).state;
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as NodeState) : undefined;
}

/** Every cgroup folder of the node, deepest first, in every hierarchy (cgroup v1 and the unified one). */
function cgroupDirs(cgroupRoot: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(join(dir, entry.name));
    found.push(dir);
  };
  if (!existsSync(CGROUP_BASE)) return found;
  for (const hierarchy of readdirSync(CGROUP_BASE)) {
    const root = join(CGROUP_BASE, hierarchy, cgroupRoot);
    if (existsSync(root) && statSync(root).isDirectory()) walk(root);
  }
  return found;
}

function pidsIn(cgroupDir: string): number[] {
  try {
    return readFileSync(join(cgroupDir, "cgroup.procs"), "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map(Number);
  } catch {
    return [];
  }
}

const readText = (file: string): string => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
};

/** Removes a cgroup (in every hierarchy) whose processes are gone; true when nothing of it is left. */
export async function removeCgroup(name: string): Promise<boolean> {
  for (const dir of cgroupDirs(name)) {
    for (let i = 0; i < 20; i++) {
      try {
        rmdirSync(dir);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") break;
        await sleep(100);
      }
    }
  }
  return cgroupDirs(name).length === 0;
}

/** Processes of the node: in its namespaces, in its cgroups, or naming its folder (containerd's shims). */
export function nodeProcesses(state: NodeState): number[] {
  const pids = new Set<number>();
  for (const dir of cgroupDirs(state.cgroupRoot)) for (const pid of pidsIn(dir)) pids.add(pid);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const cmdline = readText(`/proc/${entry}/cmdline`).replaceAll("\0", " ");
    let inside = cmdline.includes(`${state.dir}/`);
    for (const [kind, inode] of [
      ["net", state.netnsInode],
      ["mnt", state.mntnsInode],
    ] as const) {
      if (inside || inode === undefined) continue;
      try {
        inside = readlinkSync(`/proc/${entry}/ns/${kind}`) === `${kind}:[${inode}]`;
      } catch {
        // gone meanwhile
      }
    }
    if (inside) pids.add(pid);
  }
  return [...pids];
}

/** Mount points under the node's folder, deepest first. */
function mountsUnder(dir: string): string[] {
  return readText("/proc/self/mountinfo")
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .map((target) => target.replaceAll("\\040", " "))
    .filter((target) => target === dir || target.startsWith(`${dir}/`))
    .reverse();
}

/** What is left of a node: empty when it was cleaned up completely. */
export function leftovers(state: NodeState): string[] {
  const left: string[] = [];
  for (const pid of nodeProcesses(state))
    left.push(`process ${pid}: ${readText(`/proc/${pid}/cmdline`).replaceAll("\0", " ")}`);
  for (const mount of mountsUnder(state.dir)) left.push(`mount ${mount}`);
  for (const dir of cgroupDirs(state.cgroupRoot)) left.push(`cgroup ${dir}`);
  const links = run("ip", ["-o", "link", "show"]);
  for (const name of [state.network.hostLink, state.network.nodeLink])
    if (new RegExp(`^\\d+: ${name}[@:]`, "m").test(links)) left.push(`network device ${name}`);
  if (existsSync(join("/run/edgek8s/nodes", String(state.network.slot)))) {
    const owner = readText(join("/run/edgek8s/nodes", String(state.network.slot)));
    if (owner.includes(state.dir)) left.push(`slot ${state.network.slot}`);
  }
  return left;
}

/** Stops whatever of the node still runs and removes its namespaces, mounts, cgroups and link. */
export async function cleanUp(state: NodeState): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const pids = nodeProcesses(state);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    for (let i = 0; i < 50 && nodeProcesses(state).some((pid) => existsSync(`/proc/${pid}`)); i++) await sleep(100);
  }
  // Unpinning the namespaces frees them, and with the mount namespace every mount made inside it.
  for (const mount of mountsUnder(state.dir)) {
    try {
      run("umount", [mount]);
    } catch {
      run("umount", ["--lazy", mount]);
    }
  }
  await removeCgroup(state.cgroupRoot);
  // The host end of the link goes with the node's network namespace; remove it if that lingers.
  try {
    run("ip", ["link", "delete", state.network.hostLink]);
  } catch {
    // already gone
  }
  releaseSlot(state.network.slot);
}

export const namespaceInodes = (dir: string) => ({
  netnsInode: namespaceInode(join(dir, "ns", "net")),
  mntnsInode: namespaceInode(paths(dir).mountNamespace),
});
