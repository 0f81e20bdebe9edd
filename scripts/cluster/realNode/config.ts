// The real node's configuration files, as pure functions of its layout: containerd, the CNI network,
// kubelet, kube-proxy and CoreDNS. Every workaround this machine needs is here, with its reason.
import { stringify } from "yaml";

/** Where a real node keeps everything, and the addresses it uses. */
export interface NodeLayout {
  /** The node's folder (inside the control plane's): state, sockets, logs, configuration. */
  readonly dir: string;
  readonly nodeName: string;
  /** The node's address on its link to the host (its network namespace's side). */
  readonly nodeIp: string;
  /** The cgroup (in every hierarchy) that holds the node's pods; removed when the node stops. */
  readonly cgroupRoot: string;
  readonly pauseImage: string;
  readonly caCert: string;
}

/** Pods of the node (one /24 inside the node's own network namespace, so every node can use it). */
export const POD_CIDR = "10.244.0.0/24";
export const CLUSTER_CIDR = "10.244.0.0/16";
export const CLUSTER_DNS_IP = "10.96.0.10";
export const CLUSTER_DOMAIN = "cluster.local";
/** Debian's containernetworking-plugins. */
export const CNI_BIN_DIR = "/usr/lib/cni";

export const paths = (dir: string) => ({
  containerdConfig: `${dir}/containerd.toml`,
  containerdSocket: `${dir}/containerd.sock`,
  containerdRoot: `${dir}/containerd/root`,
  containerdState: `${dir}/containerd/state`,
  cniConfDir: `${dir}/cni/net.d`,
  cniIpamDir: `${dir}/cni/ipam`,
  kubeletConfig: `${dir}/kubelet.yaml`,
  kubeletRoot: `${dir}/kubelet`,
  kubeletKubeconfig: `${dir}/kubelet.kubeconfig`,
  resolvConf: `${dir}/resolv.conf`,
  kubeProxyConfig: `${dir}/kube-proxy.yaml`,
  kubeProxyKubeconfig: `${dir}/kube-proxy.kubeconfig`,
  corefile: `${dir}/Corefile`,
  corednsKubeconfig: `${dir}/coredns.kubeconfig`,
  /** The mount namespace the node's processes share (a bind of its nsfs file). */
  mountNamespace: `${dir}/ns/mnt`,
  /** Mounted over /run, /var/lib and /var/log inside that namespace, so nothing lands on the host's. */
  run: `${dir}/root/run`,
  varLib: `${dir}/root/var-lib`,
  varLog: `${dir}/root/var-log`,
  sysctls: `${dir}/root/sysctl`,
  state: `${dir}/state.json`,
});

/**
 * containerd 1.6 (Debian) with everything under the node's folder. `restrict_oom_score_adj`: the
 * node runs without CAP_SYS_RESOURCE here, so containerd may not lower a container's OOM score below
 * its own. runc, not crun (crun fails on this machine's hybrid cgroups); cgroupfs, no systemd. Pod
 * network namespaces are mounted under the state folder, not /run/netns.
 */
export function containerdConfig(layout: NodeLayout): string {
  const p = paths(layout.dir);
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${p.containerdRoot}"
state = "${p.containerdState}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${p.containerdSocket}"

[debug]
  level = "warn"

[${cri}]
  sandbox_image = "${layout.pauseImage}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  BinaryName = "/usr/bin/runc"
  SystemdCgroup = false

[${cri}.cni]
  bin_dir = "${CNI_BIN_DIR}"
  conf_dir = "${p.cniConfDir}"
  max_conf_num = 1

[plugins."io.containerd.internal.v1.opt"]
  path = "${layout.dir}/containerd/opt"
`;
}

/** A bridge with host-local addresses; outbound pod traffic is masqueraded to the node's address. */
export function cniConfig(layout: NodeLayout): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: "edgek8s",
      plugins: [
        {
          type: "bridge",
          bridge: "cni0",
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: POD_CIDR }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: paths(layout.dir).cniIpamDir,
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

/**
 * kubelet: cgroup v1 allowed (`failCgroupV1: false`, the machine has hybrid cgroups), cgroupfs,
 * no swap check, the node's pods under their own cgroup root, webhook authentication and
 * authorization (the API server reaches it with its kubelet client certificate for logs and exec),
 * and no eviction or image garbage collection to surprise a test.
 */
export function kubeletConfig(layout: NodeLayout): string {
  const p = paths(layout.dir);
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: layout.nodeIp,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: 10248,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: layout.caCert },
    },
    authorization: { mode: "Webhook" },
    containerRuntimeEndpoint: `unix://${p.containerdSocket}`,
    cgroupDriver: "cgroupfs",
    cgroupRoot: layout.cgroupRoot,
    failCgroupV1: false,
    failSwapOn: false,
    clusterDomain: CLUSTER_DOMAIN,
    clusterDNS: [CLUSTER_DNS_IP],
    resolvConf: p.resolvConf,
    volumePluginDir: `${layout.dir}/volume-plugins`,
    serializeImagePulls: false,
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { "memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    // Status changes reach the API server at once, so tests see restarts and exits promptly.
    nodeStatusUpdateFrequency: "5s",
    syncFrequency: "10s",
    maxPods: 110,
  });
}

export function kubeProxyConfig(layout: NodeLayout): string {
  const p = paths(layout.dir);
  return stringify({
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    mode: "iptables",
    clientConnection: { kubeconfig: p.kubeProxyKubeconfig },
    hostnameOverride: layout.nodeName,
    clusterCIDR: CLUSTER_CIDR,
    healthzBindAddress: `${layout.nodeIp}:10256`,
    metricsBindAddress: "127.0.0.1:10249",
    // Leave the conntrack table's size and timeouts alone: they are the host's, not the node's.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    iptables: { syncPeriod: "10s", minSyncPeriod: "0s" },
  });
}

/**
 * CoreDNS serves the cluster domain from the API server; anything else is refused, never forwarded
 * (this machine has no upstream resolver a test may use).
 */
export function corefile(layout: NodeLayout): string {
  const p = paths(layout.dir);
  return `.:53 {
    errors
    ready ${layout.nodeIp}:8181
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${p.corednsKubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`;
}

/**
 * The kernel settings kubelet insists on (pkg/kubelet/cm/container_manager_linux.go,
 * setupKernelTunables). They are host-wide, and this machine is shared: the node's mount namespace
 * shows kubelet files with these values over /proc/sys, so it finds them set and changes nothing.
 */
export const KUBELET_SYSCTLS: Readonly<Record<string, string>> = {
  "vm/overcommit_memory": "1",
  "vm/panic_on_oom": "0",
  "kernel/panic": "10",
  "kernel/panic_on_oops": "1",
  "kernel/keys/root_maxkeys": "1000000",
  "kernel/keys/root_maxbytes": "25000000",
};
