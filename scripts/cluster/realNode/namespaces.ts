// The real node's own network and mount namespaces, pinned by nsfs binds under the node's folder (not
// /run/netns), and its link to the host. Everything the node's processes create in them — the pod
// bridge, veths, iptables chains, overlay and tmpfs mounts — goes when they go.
import { execFileSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KUBELET_SYSCTLS, paths } from "./config.ts";

/** Host-wide registry of the real nodes' link subnets, so nodes started at once get distinct ones. */
export const SLOTS_DIR = "/run/edgek8s/nodes";
const SERVICE_CIDR = "10.96.0.0/16";

export interface NodeNetwork {
  readonly slot: number;
  /** The host's end of the link: the API server listens here. */
  readonly hostIp: string;
  readonly nodeIp: string;
  readonly hostLink: string;
  readonly nodeLink: string;
}

export const run = (command: string, args: readonly string[]): string =>
  execFileSync(command, [...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** `nsenter` arguments that put a command in the node's namespaces. */
export function inNode(dir: string, mount = true): string[] {
  const p = paths(dir);
  return [`--net=${join(dir, "ns", "net")}`, ...(mount ? [`--mount=${p.mountNamespace}`] : []), "--"];
}

/**
 * Claims a free slot (10.201.SLOT.0/30 for the link) for the node in `dir`, owned by this process
 * (or by nobody when `persistent`: a `cluster:up` node outlives the command that starts it).
 */
export function claimSlot(dir: string, persistent: boolean): NodeNetwork {
  mkdirSync(SLOTS_DIR, { recursive: true });
  const owner = join(SLOTS_DIR, `.claim-${process.pid}`);
  writeFileSync(owner, JSON.stringify({ dir, pid: persistent ? 0 : process.pid }));
  try {
    for (let slot = 0; slot < 255; slot++) {
      try {
        linkSync(owner, join(SLOTS_DIR, String(slot)));
      } catch {
        continue;
      }
      return {
        slot,
        hostIp: `10.201.${slot}.1`,
        nodeIp: `10.201.${slot}.2`,
        hostLink: `ek8s-h${slot}`,
        nodeLink: `ek8s-n${slot}`,
      };
    }
  } finally {
    rmSync(owner, { force: true });
  }
  throw new Error(`no free real-node slot in ${SLOTS_DIR}`);
}

export function releaseSlot(slot: number): void {
  rmSync(join(SLOTS_DIR, String(slot)), { force: true });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Nodes whose owning process is gone (a test that was killed): they need cleaning up. */
export function abandonedSlots(): { slot: number; dir: string }[] {
  if (!existsSync(SLOTS_DIR)) return [];
  return readdirSync(SLOTS_DIR)
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => {
      const { dir, pid } = JSON.parse(readFileSync(join(SLOTS_DIR, name), "utf8")) as { dir: string; pid: number };
      return pid !== 0 && !alive(pid) ? [{ slot: Number(name), dir }] : [];
    });
}

/**
 * Creates the node's network namespace and its link to the host: the host end gets `hostIp`, the
 * node end `nodeIp`. The node has no default route: nothing in it can reach beyond this machine
 * (a pull from a registry fails at once instead of leaving it). Service addresses route to the host
 * link, so kube-proxy's rules see locally made connections to them.
 */
export function createNetwork(dir: string, net: NodeNetwork): void {
  const nsDir = join(dir, "ns");
  mkdirSync(nsDir, { recursive: true });
  // nsfs binds must sit on a private mount, or they would propagate into the namespaces they pin.
  run("mount", ["--bind", nsDir, nsDir]);
  run("mount", ["--make-private", nsDir]);
  for (const name of ["net", "mnt"]) writeFileSync(join(nsDir, name), "");
  run("unshare", [`--net=${join(nsDir, "net")}`, "true"]);
  const ip = (...args: string[]) => run("nsenter", [...inNode(dir, false), "ip", ...args]);
  ip("link", "add", net.nodeLink, "type", "veth", "peer", "name", net.hostLink, "netns", String(process.pid));
  run("ip", ["addr", "add", `${net.hostIp}/30`, "dev", net.hostLink]);
  run("ip", ["link", "set", net.hostLink, "up"]);
  ip("addr", "add", `${net.nodeIp}/30`, "dev", net.nodeLink);
  ip("link", "set", net.nodeLink, "up");
  ip("link", "set", "lo", "up");
  ip("route", "add", SERVICE_CIDR, "via", net.hostIp);
  const sysctl = (key: string, value: string) =>
    run("nsenter", [...inNode(dir, false), "sh", "-c", `echo ${value} > /proc/sys/${key}`]);
  sysctl("net/ipv4/ip_forward", "1");
  sysctl("net/bridge/bridge-nf-call-iptables", "1");
}

/**
 * The mount namespace containerd, kubelet and their children share: the host's mounts, with the
 * node's own folders over /run, /var/lib and /var/log (shim sockets, CNI caches, pod logs stay in
 * the node's folder) and kubelet's kernel settings shown over /proc/sys (see KUBELET_SYSCTLS).
 */
export function createMountNamespace(dir: string): void {
  const p = paths(dir);
  const binds: [string, string][] = [
    [p.run, "/run"],
    [p.varLib, "/var/lib"],
    [p.varLog, "/var/log"],
  ];
  mkdirSync(p.sysctls, { recursive: true });
  for (const [source] of binds) mkdirSync(source, { recursive: true });
  for (const [key, value] of Object.entries(KUBELET_SYSCTLS)) {
    const file = join(p.sysctls, key.replaceAll("/", "."));
    writeFileSync(file, `${value}\n`);
    binds.push([file, `/proc/sys/${key}`]);
  }
  const script = binds.map(([source, target]) => `mount --bind '${source}' '${target}'`).join(" && ");
  run("unshare", [`--mount=${p.mountNamespace}`, "--propagation", "private", "sh", "-c", script]);
}

/** Inode of a namespace file, to find processes still inside it. */
export function namespaceInode(file: string): string | undefined {
  try {
    return run("stat", ["-L", "-c", "%i", file]).trim();
  } catch {
    return undefined;
  }
}
