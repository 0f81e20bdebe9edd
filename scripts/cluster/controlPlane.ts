import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { type AuditEntry, AuditReader } from "./audit.ts";
import { kubeconfigYaml } from "./kubeconfig.ts";
import { type Pki, createClientCertificate, createPki } from "./pki.ts";
import { FatalError, ManagedProcess, freePort, waitFor } from "./processes.ts";
import { cleanUp, readState } from "./realNode/cleanup.ts";
import { type PreparedNode, RealNode, type RealNodeOptions, prepareRealNode, startRealNode } from "./realNode/node.ts";
import { toolPath } from "./tools.ts";

export interface ControlPlaneOptions {
  /** Also run controller-manager (garbage collection, ReplicaSets), scheduler and kwok with simulated nodes. */
  readonly full?: boolean;
  /** Simulated nodes (full only). Default 2. */
  readonly nodes?: number;
  /** Keep state here instead of a temporary directory (the persistent `cluster:up` cluster). */
  readonly dir?: string;
  /** Record every write in an audit log (see `writes()`). */
  readonly auditLog?: boolean;
  /**
   * CustomResourceDefinition files to install before controller-manager starts, so its garbage
   * collector knows the kinds from the start (it rediscovers new kinds only every 30 s).
   */
  readonly crdFiles?: readonly string[];
  /** Leave the processes running when this Node process exits (`cluster:up`). */
  readonly detached?: boolean;
  /**
   * Add a real node (implies `full`; kwok nodes default to none): containerd, kubelet, kube-proxy and
   * CoreDNS in namespaces of their own, so pods run real containers (scripts/cluster/realNode). The
   * API server then listens on the node's link to the host instead of 127.0.0.1. Needs root.
   */
  readonly realNode?: boolean | RealNodeOptions;
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
  - level: None
`;

export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";
/** Pods annotated `edgek8s.io/simulate: crash` show a container in CrashLoopBackOff (see kwok-stages.yaml). */
export const SIMULATE_ANNOTATION = "edgek8s.io/simulate";
const KWOK_STAGES = fileURLToPath(new URL("kwok-stages.yaml", import.meta.url));

/**
 * A real Kubernetes control plane on loopback: etcd and kube-apiserver with generated certificates
 * and a service-account key; with `full`, also controller-manager, scheduler and kwok nodes.
 */
export class ControlPlane {
  readonly dir: string;
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly pki: Pki;
  readonly processes: ManagedProcess[];
  private readonly apiserver: ManagedProcess;
  private readonly temporary: boolean;
  readonly auditLogPath: string | undefined;
  private readonly audit: AuditReader | undefined;
  private readonly audited: AuditEntry[] = [];
  /** The real node, when the plane has one. */
  realNode: RealNode | undefined;

  constructor(init: {
    dir: string;
    server: string;
    pki: Pki;
    processes: ManagedProcess[];
    apiserver: ManagedProcess;
    temporary: boolean;
    auditLogPath: string | undefined;
  }) {
    this.dir = init.dir;
    this.server = init.server;
    this.pki = init.pki;
    this.processes = init.processes;
    this.apiserver = init.apiserver;
    this.temporary = init.temporary;
    this.auditLogPath = init.auditLogPath;
    this.audit = init.auditLogPath === undefined ? undefined : new AuditReader(init.auditLogPath);
    this.kubeconfigPath = join(init.dir, "kubeconfig");
  }

  /** An admin (system:masters) client configuration. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  /** A client configuration that authenticates as a ServiceAccount with a real token (TokenRequest API), so RBAC applies. */
  async serviceAccountKubeConfig(
    namespace: string,
    serviceAccount: string,
  ): Promise<{ kubeConfig: KubeConfig; yaml: string }> {
    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    const token = await core.createNamespacedServiceAccountToken({
      namespace,
      name: serviceAccount,
      body: { spec: { audiences: ["https://kubernetes.default.svc"], expirationSeconds: 3600 } },
    });
    const yaml = kubeconfigYaml(this.server, this.pki.caCert, `${namespace}-${serviceAccount}`, {
      token: token.status?.token ?? "",
    });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(yaml);
    return { kubeConfig, yaml };
  }

  /** Stops the API server (etcd keeps the data), to test recovery. */
  async stopApiServer(): Promise<void> {
    await this.apiserver.stop();
  }

  async startApiServer(): Promise<void> {
    this.apiserver.start();
    await waitForReady(this.server, this.pki.caCert, this.apiserver);
  }

  /**
   * Writes recorded in the audit log so far (requires `auditLog`); dry runs store nothing and are left
   * out. Each call reads only what the log gained since the last one.
   */
  writes(): readonly AuditEntry[] {
    if (this.audit) this.audited.push(...this.audit.read().filter((e) => !e.dryRun));
    return this.audited;
  }

  /**
   * Stops every process (in reverse start order) and removes a temporary state directory. A real node
   * goes first, after the controllers (which would replace the pods it stops).
   */
  async stop(): Promise<void> {
    if (this.realNode) {
      for (const p of this.processes.filter((c) => CONTROLLERS.includes(c.name))) await p.stop();
      await this.realNode.stop();
    }
    for (const p of [...this.processes].reverse()) await p.stop();
    if (this.temporary) rmSync(this.dir, { recursive: true, force: true });
  }

  /** kubectl as the admin; `input` goes to its standard input. */
  kubectl(args: readonly string[], input?: string): string {
    return execFileSync(toolPath("kubectl"), ["--kubeconfig", this.kubeconfigPath, ...args], {
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
      ...(input === undefined ? {} : { input }),
    });
  }
}

function get(url: string, caCert: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(caCert), timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

async function waitForReady(server: string, caCert: string, apiserver: ManagedProcess): Promise<void> {
  await waitFor(
    "kube-apiserver",
    async () => {
      if (!apiserver.running) fail(apiserver, "kube-apiserver exited");
      return (await get(`${server}/readyz`, caCert)).status === 200;
    },
    60_000,
    () => `kube-apiserver log (${apiserver.logFile}):\n${apiserver.tail()}`,
  );
}

const CONTROLLERS = ["kube-controller-manager", "kube-scheduler", "kwok"];

function installCrd(plane: ControlPlane, file: string): void {
  const kubectl = (...args: string[]) =>
    execFileSync(toolPath("kubectl"), ["--kubeconfig", plane.kubeconfigPath, ...args], { encoding: "utf8" });
  kubectl("apply", "--server-side", "-f", file);
  kubectl("wait", "--for=condition=Established", "--timeout=30s", "-f", file);
}

function fail(process: ManagedProcess, what: string): never {
  throw new FatalError(`${what}\n${process.name} log (${process.logFile}):\n${process.tail()}`);
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const temporary = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "edgek8s-cluster-"));
  mkdirSync(join(dir, "logs"), { recursive: true });
  const detached = options.detached ?? false;
  const processes: ManagedProcess[] = [];
  let node: PreparedNode | undefined;
  let realNode: RealNode | undefined;
  const cleanup = async () => {
    for (const p of [...(realNode?.processes ?? []), ...processes].reverse()) await p.stop();
    const nodeState = node && readState(node.dir);
    if (nodeState) await cleanUp(nodeState);
    if (temporary) rmSync(dir, { recursive: true, force: true });
  };

  try {
    if (options.realNode) node = await prepareRealNode(dir, detached);
    // With a real node, the API server listens on the host's end of the node's link (its pods reach it).
    const host = node?.network.hostIp ?? "127.0.0.1";
    const pki = await createPki(dir, node ? [host] : []);
    const [etcdClient, etcdPeer, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const server = `https://${host}:${apiPort}`;
    const logs = (name: string) => join(dir, "logs", `${name}.log`);
    const nodeArgs = node ? await realNodeApiServerArgs(dir, pki) : [];
    const etcd = new ManagedProcess(
      "etcd",
      toolPath("etcd"),
      [
        "--name=edgek8s",
        `--data-dir=${join(dir, "etcd")}`,
        "--log-level=warn",
        "--unsafe-no-fsync",
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=edgek8s=http://127.0.0.1:${etcdPeer}`,
      ],
      logs("etcd"),
      detached,
    );
    processes.push(etcd);
    etcd.start();

    const auditLogPath = options.auditLog ? join(dir, "logs", "audit.jsonl") : undefined;
    const auditArgs = auditLogPath
      ? (writeFileSync(join(dir, "audit-policy.yaml"), AUDIT_POLICY),
        [
          `--audit-policy-file=${join(dir, "audit-policy.yaml")}`,
          `--audit-log-path=${auditLogPath}`,
          "--audit-log-format=json",
          "--audit-log-mode=blocking",
        ])
      : [];
    const apiserver = new ManagedProcess(
      "kube-apiserver",
      toolPath("kube-apiserver"),
      [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        `--bind-address=${host}`,
        `--advertise-address=${host}`,
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, "apiserver-certs")}`,
        `--tls-cert-file=${pki.serverCert}`,
        `--tls-private-key-file=${pki.serverKey}`,
        `--client-ca-file=${pki.caCert}`,
        "--service-account-issuer=https://kubernetes.default.svc",
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        "--api-audiences=https://kubernetes.default.svc",
        "--service-cluster-ip-range=10.96.0.0/16",
        `--authorization-mode=${node ? "Node,RBAC" : "RBAC"}`,
        "--allow-privileged=true",
        // Nodes are kwok's: no node-lifecycle controller lifts the not-ready taint this plugin sets.
        "--disable-admission-plugins=TaintNodesByCondition",
        "--profiling=false",
        "--enable-priority-and-fairness=false",
        ...auditArgs,
        ...nodeArgs,
      ],
      logs("kube-apiserver"),
      detached,
    );
    processes.push(apiserver);
    apiserver.start();
    await waitForReady(server, pki.caCert, apiserver).catch((error: unknown) => {
      if (!etcd.running) fail(etcd, "etcd exited");
      throw error;
    });
    const plane = new ControlPlane({ dir, server, pki, processes, apiserver, temporary, auditLogPath });
    writeFileSync(
      plane.kubeconfigPath,
      kubeconfigYaml(server, pki.caCert, "edgek8s-admin", { clientCert: pki.adminCert, clientKey: pki.adminKey }),
      { mode: 0o600 },
    );
    for (const file of options.crdFiles ?? []) installCrd(plane, file);
    if (options.full || node) await startNodeComponents(plane, options.nodes ?? (node ? 0 : 2), logs, detached);
    if (node) {
      const nodeOptions = typeof options.realNode === "object" ? options.realNode : {};
      realNode = await startRealNode(node, plane, nodeOptions, logs, detached);
      plane.realNode = realNode;
    }
    return plane;
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** The API server reaches the node's kubelet (logs, exec, port-forward) with a client certificate. */
async function realNodeApiServerArgs(dir: string, pki: Pki): Promise<string[]> {
  const client = await createClientCertificate(pki, dir, "apiserver-kubelet-client", "kube-apiserver-kubelet-client", [
    "system:masters",
  ]);
  return [
    `--kubelet-client-certificate=${client.cert}`,
    `--kubelet-client-key=${client.key}`,
    "--kubelet-preferred-address-types=InternalIP",
  ];
}

async function startNodeComponents(
  plane: ControlPlane,
  nodes: number,
  logs: (name: string) => string,
  detached: boolean,
): Promise<void> {
  const kubeconfig = plane.kubeconfigPath;
  const [cmPort, schedPort] = await Promise.all([freePort(), freePort()]);
  const common = [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--bind-address=127.0.0.1",
    "--leader-elect=false",
    // Thousands of pods on kwok nodes (the fleet benchmark) at the default 20 requests/s take minutes.
    "--kube-api-qps=200",
    "--kube-api-burst=400",
  ];
  const components = [
    new ManagedProcess(
      "kube-controller-manager",
      toolPath("kube-controller-manager"),
      [
        ...common,
        `--secure-port=${cmPort}`,
        `--service-account-private-key-file=${plane.pki.saKey}`,
        `--root-ca-file=${plane.pki.caCert}`,
        "--use-service-account-credentials=false",
        "--controllers=*,-node-lifecycle-controller,-node-ipam-controller,-service-lb-controller,-node-route-controller,-cloud-node-lifecycle-controller",
      ],
      logs("kube-controller-manager"),
      detached,
    ),
    new ManagedProcess(
      "kube-scheduler",
      toolPath("kube-scheduler"),
      [...common, `--secure-port=${schedPort}`],
      logs("kube-scheduler"),
      detached,
    ),
    new ManagedProcess(
      "volume-provisioner",
      process.execPath,
      [fileURLToPath(new URL("./provisioner.ts", import.meta.url)), "--kubeconfig", kubeconfig],
      logs("volume-provisioner"),
      detached,
    ),
  ];
  // kwok only when there are simulated nodes (a real-node plane has none by default).
  if (nodes > 0)
    components.push(
      new ManagedProcess(
        "kwok",
        toolPath("kwok"),
        [
          `--kubeconfig=${kubeconfig}`,
          "--manage-all-nodes=false",
          `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
          "--cidr=10.244.0.0/16",
          "--node-ip=10.244.0.1",
          "--node-lease-duration-seconds=40",
          `--config=${KWOK_STAGES}`,
        ],
        logs("kwok"),
        detached,
      ),
    );
  for (const c of components) {
    plane.processes.push(c);
    c.start();
  }
  const core = plane.kubeConfig().makeApiClient(CoreV1Api);
  for (let i = 0; i < nodes; i++) {
    const name = `kwok-node-${i}`;
    await core.createNode({
      body: {
        metadata: {
          name,
          annotations: { [KWOK_NODE_ANNOTATION]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
          labels: {
            type: "kwok",
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
          },
        },
      },
    });
  }
  const allRunning = () => {
    const dead = components.find((c) => !c.running);
    if (dead) fail(dead, `${dead.name} exited`);
  };
  await waitFor(
    "kwok nodes",
    async () =>
      (allRunning(), await core.listNode()).items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      ).length === nodes,
    60_000,
    () => components.map((c) => `${c.name}:\n${c.tail(5)}`).join("\n"),
  );
  // The service-account controller makes each namespace's `default` account; pods need it.
  await waitFor(
    "default ServiceAccount",
    async () => (await core.listNamespacedServiceAccount({ namespace: "default" })).items.length > 0,
    60_000,
    () => components[0]!.tail(),
  );
}
