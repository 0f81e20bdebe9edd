// A real node for the local control plane: containerd (Debian's, with runc), kubelet and kube-proxy
// (built from the same Kubernetes modules as the control plane), CoreDNS as the cluster's DNS, in
// network and mount namespaces of their own, with every file under the node's folder.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { kubeconfigYaml } from "../kubeconfig.ts";
import { type Pki, createClientCertificate } from "../pki.ts";
import { FatalError, ManagedProcess, waitFor } from "../processes.ts";
import { toolPath } from "../tools.ts";
import { type NodeState, cleanUp, leftovers, namespaceInodes, readState, writeState } from "./cleanup.ts";
import {
  CLUSTER_DNS_IP,
  type NodeLayout,
  cniConfig,
  containerdConfig,
  corefile,
  kubeProxyConfig,
  kubeletConfig,
  paths,
} from "./config.ts";
import {
  type NodeNetwork,
  abandonedSlots,
  claimSlot,
  createMountNamespace,
  createNetwork,
  inNode,
  releaseSlot,
} from "./namespaces.ts";

export const REAL_NODE_NAME = "edgek8s-node";
const IMAGE_SCRIPT = fileURLToPath(new URL("../../image", import.meta.url));

export interface RealNodeOptions {
  /** Images (references built by scripts/image) to import into the node's containerd at start. */
  readonly images?: readonly string[];
}

/** What the control plane needs before its API server starts: the link's addresses. */
export interface PreparedNode {
  readonly dir: string;
  readonly network: NodeNetwork;
}

interface PlaneAccess {
  readonly server: string;
  readonly pki: Pki;
  /** kubectl as the admin, with `input` on its standard input. */
  readonly kubectl: (args: readonly string[], input?: string) => string;
}

/**
 * Claims a link subnet and makes the node's network namespace; the API server then listens on
 * `network.hostIp`, an address the node and its pods reach. Cleans up nodes whose test was killed.
 */
export async function prepareRealNode(planeDir: string, persistent: boolean): Promise<PreparedNode> {
  if (process.getuid?.() !== 0) throw new Error("a real node needs root (network namespaces, mounts, cgroups)");
  for (const { slot, dir } of abandonedSlots()) {
    const state = readState(dir);
    if (state) await cleanUp(state);
    else releaseSlot(slot);
  }
  const dir = join(planeDir, "node");
  mkdirSync(dir, { recursive: true });
  const network = claimSlot(dir, persistent);
  const cgroupRoot = `/edgek8s-node-${network.slot}-${process.pid}`;
  writeState({ dir, network, cgroupRoot, netnsInode: undefined, mntnsInode: undefined });
  try {
    createNetwork(dir, network);
    createMountNamespace(dir);
    writeState({ dir, network, cgroupRoot, ...namespaceInodes(dir) });
  } catch (error) {
    await cleanUp(readState(dir)!);
    throw error;
  }
  return { dir, network };
}

/** The pod cgroup root in every hierarchy, as kubelet requires it to exist (cpuset initialised). */
function createCgroupRoot(cgroupRoot: string): void {
  const base = "/sys/fs/cgroup";
  for (const hierarchy of readdirSync(base)) {
    const parent = join(base, hierarchy);
    if (!existsSync(join(parent, "cgroup.procs"))) continue;
    const dir = join(parent, cgroupRoot);
    mkdirSync(dir, { recursive: true });
    if (hierarchy === "cpuset")
      for (const file of ["cpuset.cpus", "cpuset.mems"])
        writeFileSync(join(dir, file), readFileSync(join(parent, file), "utf8").trim() || "0");
  }
}

const httpOk = (url: string): Promise<boolean> =>
  new Promise((resolve) => {
    const req = get(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => {
      resolve(false);
    });
    req.on("timeout", () => req.destroy());
  });

/** The node's processes, and what it takes to stop them and leave nothing behind. */
export class RealNode {
  readonly name = REAL_NODE_NAME;
  readonly processes: ManagedProcess[] = [];
  readonly state: NodeState;
  private readonly kubectl: PlaneAccess["kubectl"];
  private stopped = false;

  constructor(state: NodeState, kubectl: PlaneAccess["kubectl"]) {
    this.state = state;
    this.kubectl = kubectl;
  }

  get dir(): string {
    return this.state.dir;
  }
  get nodeIp(): string {
    return this.state.network.nodeIp;
  }

  /** `ctr` against the node's containerd, in the Kubernetes namespace. */
  ctr(...args: string[]): string {
    return execFileSync("ctr", ["--address", paths(this.dir).containerdSocket, "--namespace", "k8s.io", ...args], {
      encoding: "utf8",
    });
  }

  /** Imports images built by scripts/image (saved once per image id as OCI archives). */
  importImages(images: readonly string[]): void {
    for (const image of images) {
      const archive = execFileSync(IMAGE_SCRIPT, ["--archive", image], { encoding: "utf8" }).trim();
      this.ctr("images", "import", archive);
    }
  }

  /** Containers with a running process (the node's pods' containers and sandboxes). */
  runningTasks(): string[] {
    return this.ctr("tasks", "ls")
      .split("\n")
      .slice(1)
      .filter((line) => /\bRUNNING\b/.test(line))
      .map((line) => line.split(/\s+/)[0] ?? "");
  }

  /**
   * Deletes the node's pods and waits until kubelet has stopped their containers and torn down their
   * sandboxes (network included); then stops the node's processes and removes everything it made.
   * Stop the controllers first, or they make new pods.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      this.kubectl([
        "delete",
        "pods",
        "--all-namespaces",
        "--field-selector",
        `spec.nodeName=${this.name}`,
        "--wait=false",
        "--grace-period=1",
      ]);
      await waitFor("the real node's pods to stop", () => Promise.resolve(this.runningTasks().length === 0), 30_000);
    } catch {
      // the API server or kubelet is gone: what still runs is killed below
    }
    for (const p of [...this.processes].reverse()) await p.stop();
    await cleanUp(this.state);
  }

  /** What the node left behind (empty after a clean stop). */
  leftovers(): string[] {
    return leftovers(this.state);
  }
}

function writeKubeconfig(file: string, server: string, pki: Pki, user: string, cert: { cert: string; key: string }) {
  writeFileSync(file, kubeconfigYaml(server, pki.caCert, user, { clientCert: cert.cert, clientKey: cert.key }), {
    mode: 0o600,
  });
}

/** Starts containerd, imports the images, starts kubelet, kube-proxy and CoreDNS; waits until all serve. */
export async function startRealNode(
  prepared: PreparedNode,
  plane: PlaneAccess,
  options: RealNodeOptions,
  logs: (name: string) => string,
  detached: boolean,
): Promise<RealNode> {
  const state = readState(prepared.dir)!;
  const { dir } = prepared;
  const p = paths(dir);
  const pauseImage = execFileSync(IMAGE_SCRIPT, ["--ref", "pause"], { encoding: "utf8" }).trim();
  const layout: NodeLayout = {
    dir,
    nodeName: REAL_NODE_NAME,
    nodeIp: state.network.nodeIp,
    cgroupRoot: state.cgroupRoot,
    pauseImage,
    caCert: plane.pki.caCert,
  };
  const node = new RealNode(state, (args, input) => plane.kubectl(args, input));
  const certs = join(dir, "certs");
  mkdirSync(certs, { recursive: true });
  mkdirSync(p.cniConfDir, { recursive: true });
  const [kubeletCert, proxyCert, dnsCert] = await Promise.all([
    createClientCertificate(plane.pki, certs, "kubelet", `system:node:${REAL_NODE_NAME}`, ["system:nodes"]),
    createClientCertificate(plane.pki, certs, "kube-proxy", "system:kube-proxy"),
    // CoreDNS reads Services, EndpointSlices, Namespaces and Pods cluster-wide.
    createClientCertificate(plane.pki, certs, "coredns", "edgek8s:coredns", ["system:masters"]),
  ]);
  writeKubeconfig(p.kubeletKubeconfig, plane.server, plane.pki, "kubelet", kubeletCert);
  writeKubeconfig(p.kubeProxyKubeconfig, plane.server, plane.pki, "kube-proxy", proxyCert);
  writeKubeconfig(p.corednsKubeconfig, plane.server, plane.pki, "coredns", dnsCert);
  writeFileSync(p.containerdConfig, containerdConfig(layout));
  writeFileSync(join(p.cniConfDir, "10-edgek8s.conflist"), cniConfig(layout));
  writeFileSync(p.kubeletConfig, kubeletConfig(layout));
  writeFileSync(p.resolvConf, "");
  writeFileSync(p.kubeProxyConfig, kubeProxyConfig(layout));
  writeFileSync(p.corefile, corefile(layout));
  createCgroupRoot(state.cgroupRoot);

  const start = (name: string, command: string, args: string[], mount = true) => {
    const proc = new ManagedProcess(name, "nsenter", [...inNode(dir, mount), command, ...args], logs(name), detached);
    node.processes.push(proc);
    proc.start();
    return proc;
  };
  const alive = (proc: ManagedProcess) => {
    if (!proc.running) throw new FatalError(`${proc.name} exited\n${proc.name} log (${proc.logFile}):\n${proc.tail()}`);
  };

  const containerd = start("containerd", "containerd", ["--config", p.containerdConfig]);
  await waitFor(
    "containerd",
    () => {
      alive(containerd);
      node.ctr("version");
      return Promise.resolve(true);
    },
    30_000,
    () => containerd.tail(),
  );
  node.importImages([pauseImage, ...(options.images ?? [])]);

  const kubelet = start("kubelet", toolPath("kubelet"), [
    `--config=${p.kubeletConfig}`,
    `--kubeconfig=${p.kubeletKubeconfig}`,
    `--root-dir=${p.kubeletRoot}`,
    `--cert-dir=${join(p.kubeletRoot, "pki")}`,
    `--hostname-override=${REAL_NODE_NAME}`,
    `--node-ip=${state.network.nodeIp}`,
    "--v=1",
  ]);
  const proxy = start("kube-proxy", toolPath("kube-proxy"), [`--config=${p.kubeProxyConfig}`]);
  const dns = start("coredns", toolPath("coredns"), ["-conf", p.corefile]);
  // The cluster's DNS Service: kube-proxy sends its address to CoreDNS on the node.
  plane.kubectl(["apply", "--server-side", "-f", "-"], kubeDnsObjects(state.network.nodeIp));

  const all = [containerd, kubelet, proxy, dns];
  await waitFor(
    `node ${REAL_NODE_NAME} Ready, kube-proxy and CoreDNS serving`,
    async () => {
      all.forEach(alive);
      const ready = plane.kubectl([
        "get",
        "node",
        REAL_NODE_NAME,
        "-o",
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ]);
      return (
        ready === "True" &&
        (await httpOk(`http://${state.network.nodeIp}:10256/healthz`)) &&
        (await httpOk(`http://${state.network.nodeIp}:8181/ready`))
      );
    },
    90_000,
    () => all.map((c) => `${c.name}:\n${c.tail(8)}`).join("\n"),
    250,
  );
  return node;
}

function kubeDnsObjects(nodeIp: string): string {
  const ports = [
    { name: "dns", port: 53, protocol: "UDP" },
    { name: "dns-tcp", port: 53, protocol: "TCP" },
  ];
  return JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
        spec: { clusterIP: CLUSTER_DNS_IP, ports: ports.map((p) => ({ ...p, targetPort: 53 })) },
      },
      {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: "kube-dns-node",
          namespace: "kube-system",
          labels: { "kubernetes.io/service-name": "kube-dns", "endpointslice.kubernetes.io/managed-by": "edgek8s" },
        },
        addressType: "IPv4",
        endpoints: [{ addresses: [nodeIp], conditions: { ready: true } }],
        ports,
      },
    ],
  });
}
