import { type Infer, t } from "../shape/shape.ts";

/**
 * Docker's container-create body (Engine API v1.41 `ContainerCreateRequest`: the container config
 * plus `HostConfig` and `NetworkingConfig`), as IoT Edge modules give it in `settings.createOptions`.
 * Every field Docker defines is listed: typed when translation uses it, `ignored(why)` when Kubernetes
 * has no equivalent (read as any JSON and reported with its path). Keys the runtime does not know are
 * reported too (Docker ignores them). The IoT Edge agent models the same body in
 * edge-agent/src/Microsoft.Azure.Devices.Edge.Agent.Docker/models/ (CreateContainerParameters.cs,
 * HostConfig.cs, Mount.cs, PortBinding.cs, DeviceMapping.cs) and passes unmodelled fields through
 * (`[JsonExtensionData] OtherProperties`) to Docker, which reads keys case-insensitively (Go's encoding/json).
 */

const WINDOWS_ONLY = "is for Windows containers; ignored";
const NO_CGROUP_KNOB = "has no Kubernetes equivalent (the kubelet owns the container's cgroup); ignored";

const mount = t.object({
  Type: t.enum(["bind", "volume", "tmpfs", "npipe", "cluster"]),
  Source: t.string(),
  Target: t.string(),
  ReadOnly: t.boolean(),
  Consistency: t.ignored("is a Docker Desktop setting; ignored"),
  BindOptions: t.object({
    Propagation: t.enum(["private", "rprivate", "shared", "rshared", "slave", "rslave"]),
    NonRecursive: t.ignored("has no Kubernetes equivalent (hostPath mounts are recursive); ignored"),
    ReadOnlyNonRecursive: t.ignored("has no Kubernetes equivalent; ignored"),
    ReadOnlyForceRecursive: t.ignored("has no Kubernetes equivalent; ignored"),
    CreateMountpoint: t.boolean(),
  }),
  VolumeOptions: t.object({
    NoCopy: t.boolean(),
    Labels: t.ignored("volume labels have no PersistentVolumeClaim equivalent; ignored"),
    DriverConfig: t.ignored(
      "Docker volume drivers do not exist on Kubernetes; the claim uses the agent's storage class",
    ),
    Subpath: t.string(),
  }),
  TmpfsOptions: t.object({
    SizeBytes: t.integer({ min: 0 }),
    Mode: t.ignored("has no emptyDir equivalent; ignored"),
    Options: t.ignored("has no emptyDir equivalent; ignored"),
  }),
});

const device = t.object({
  PathOnHost: t.string({ nonEmpty: true }),
  PathInContainer: t.string(),
  CgroupPermissions: t.string(),
});

const deviceRequest = t.object({
  Driver: t.string(),
  Count: t.integer(),
  DeviceIDs: t.list(t.string()),
  Capabilities: t.list(t.list(t.string())),
  Options: t.ignored("device request options have no Kubernetes equivalent; ignored"),
});

const hostConfigFields = {
  Binds: t.list(t.string()),
  Mounts: t.list(mount),
  Tmpfs: t.map(t.string()),
  PortBindings: t.map(t.list(t.object({ HostIp: t.string(), HostPort: t.string() }))),
  PublishAllPorts: t.ignored(
    "Docker publishes every exposed port on a random host port; publish them with PortBindings",
  ),
  Memory: t.integer({ min: 0 }),
  MemoryReservation: t.integer({ min: 0 }),
  NanoCpus: t.integer({ min: 0 }),
  CpuQuota: t.integer(),
  CpuPeriod: t.integer({ min: 0 }),
  CpuShares: t.integer({ min: 0 }),
  Privileged: t.boolean(),
  CapAdd: t.list(t.string()),
  CapDrop: t.list(t.string()),
  ReadonlyRootfs: t.boolean(),
  SecurityOpt: t.list(t.string()),
  NetworkMode: t.string(),
  IpcMode: t.string(),
  PidMode: t.string(),
  UTSMode: t.ignored("has no Kubernetes equivalent (host networking also shares the host's UTS namespace); ignored"),
  UsernsMode: t.ignored("has no Kubernetes equivalent; ignored"),
  Devices: t.list(device),
  DeviceRequests: t.list(deviceRequest),
  DeviceCgroupRules: t.ignored("device cgroup rules have no Kubernetes equivalent; use a device plugin resource"),
  ExtraHosts: t.list(t.string()),
  Dns: t.list(t.string()),
  DnsSearch: t.list(t.string()),
  DnsOptions: t.list(t.string()),
  ShmSize: t.integer({ min: 0 }),
  Sysctls: t.map(t.string()),
  Runtime: t.string(),
  GroupAdd: t.list(t.string()),
  RestartPolicy: t.ignored(
    "Docker's own restart policy is not used: the module's restartPolicy decides restarts, as with the IoT Edge agent",
  ),
  AutoRemove: t.ignored("has no Kubernetes equivalent; ignored"),
  LogConfig: t.ignored("container log drivers and rotation are node settings of the kubelet on Kubernetes; ignored"),
  Init: t.ignored("Kubernetes has no init process option; use an image with its own init (tini) if needed"),
  InitPath: t.ignored("has no Kubernetes equivalent; ignored"),
  Links: t.ignored("legacy links are not needed: every module reaches every other by its module name"),
  VolumesFrom: t.ignored("has no Kubernetes equivalent (containers of different pods cannot share volumes this way)"),
  VolumeDriver: t.ignored("Docker volume drivers do not exist on Kubernetes; claims use the agent's storage class"),
  ContainerIDFile: t.ignored("has no Kubernetes equivalent; ignored"),
  ConsoleSize: t.ignored("has no Kubernetes equivalent; ignored"),
  Annotations: t.ignored("Docker container annotations are not pod annotations; use Labels"),
  Cgroup: t.ignored(NO_CGROUP_KNOB),
  CgroupParent: t.ignored(NO_CGROUP_KNOB),
  CgroupnsMode: t.ignored(NO_CGROUP_KNOB),
  BlkioWeight: t.ignored(NO_CGROUP_KNOB),
  BlkioWeightDevice: t.ignored(NO_CGROUP_KNOB),
  BlkioDeviceReadBps: t.ignored(NO_CGROUP_KNOB),
  BlkioDeviceWriteBps: t.ignored(NO_CGROUP_KNOB),
  BlkioDeviceReadIOps: t.ignored(NO_CGROUP_KNOB),
  BlkioDeviceWriteIOps: t.ignored(NO_CGROUP_KNOB),
  CpuRealtimePeriod: t.ignored(NO_CGROUP_KNOB),
  CpuRealtimeRuntime: t.ignored(NO_CGROUP_KNOB),
  CpusetCpus: t.ignored("CPU pinning is the kubelet's CPU manager (static policy with whole-CPU limits); ignored"),
  CpusetMems: t.ignored(NO_CGROUP_KNOB),
  KernelMemory: t.ignored(NO_CGROUP_KNOB),
  KernelMemoryTCP: t.ignored(NO_CGROUP_KNOB),
  MemorySwap: t.ignored("swap is a node setting of the kubelet on Kubernetes; ignored"),
  MemorySwappiness: t.ignored("swap is a node setting of the kubelet on Kubernetes; ignored"),
  OomKillDisable: t.ignored(NO_CGROUP_KNOB),
  OomScoreAdj: t.ignored("the kubelet sets the OOM score from the pod's QoS class; ignored"),
  PidsLimit: t.ignored("the pid limit is a node setting of the kubelet (podPidsLimit); ignored"),
  Ulimits: t.ignored("ulimits are the container runtime's defaults on Kubernetes; ignored"),
  StorageOpt: t.ignored("has no Kubernetes equivalent; ignored"),
  MaskedPaths: t.ignored("has no Kubernetes equivalent (procMount Unmasked is the only switch); ignored"),
  ReadonlyPaths: t.ignored("has no Kubernetes equivalent; ignored"),
  CpuCount: t.ignored(WINDOWS_ONLY),
  CpuPercent: t.ignored(WINDOWS_ONLY),
  IOMaximumIOps: t.ignored(WINDOWS_ONLY),
  IOMaximumBandwidth: t.ignored(WINDOWS_ONLY),
  Isolation: t.ignored(WINDOWS_ONLY),
  DiskQuota: t.ignored("has no Kubernetes equivalent; ignored"),
} as const;

const configFields = {
  Hostname: t.string(),
  Domainname: t.ignored("has no Kubernetes equivalent (the pod's domain is the cluster's); ignored"),
  User: t.string(),
  AttachStdin: t.json(),
  AttachStdout: t.json(),
  AttachStderr: t.json(),
  Tty: t.boolean(),
  OpenStdin: t.boolean(),
  StdinOnce: t.boolean(),
  Env: t.list(t.string()),
  Cmd: t.strSlice(),
  Entrypoint: t.strSlice(),
  Image: t.ignored("settings.image is the module's image; the IoT Edge runtime replaces this field too"),
  Labels: t.map(t.string()),
  ExposedPorts: t.map(t.json()),
  Volumes: t.map(t.json()),
  WorkingDir: t.string(),
  Healthcheck: t.object({
    Test: t.strSlice(),
    Interval: t.integer({ min: 0 }),
    Timeout: t.integer({ min: 0 }),
    Retries: t.integer({ min: 0 }),
    StartPeriod: t.integer({ min: 0 }),
    StartInterval: t.ignored("has no liveness-probe equivalent; ignored"),
  }),
  ArgsEscaped: t.ignored(WINDOWS_ONLY),
  NetworkDisabled: t.ignored("a pod always has a network; ignored"),
  MacAddress: t.ignored("pods get their addresses from the cluster network; ignored"),
  OnBuild: t.ignored("is an image build setting; ignored"),
  Shell: t.ignored("is an image build setting; ignored"),
  StopSignal: t.ignored("Kubernetes stops a container with SIGTERM (or the image's STOPSIGNAL); ignored"),
  StopTimeout: t.integer({ min: 0 }),
  NetworkingConfig: t.object({
    EndpointsConfig: t.map(
      t.object({
        Aliases: t.list(t.string()),
        IPAMConfig: t.ignored("pods get their addresses from the cluster network; ignored"),
        Links: t.ignored("legacy links are not needed: every module reaches every other by its module name"),
        MacAddress: t.ignored("pods get their addresses from the cluster network; ignored"),
        DriverOpts: t.ignored("Docker network drivers do not exist on Kubernetes; ignored"),
        NetworkID: t.json(),
        EndpointID: t.json(),
        Gateway: t.json(),
        IPAddress: t.json(),
        IPPrefixLen: t.json(),
        IPv6Gateway: t.json(),
        GlobalIPv6Address: t.json(),
        GlobalIPv6PrefixLen: t.json(),
        DNSNames: t.json(),
      }),
    ),
  }),
} as const;

const HOST_CONFIG_NAMES = new Map(Object.keys(hostConfigFields).map((k) => [k.toLowerCase(), k]));
const CONFIG_NAMES = new Map(Object.keys(configFields).map((k) => [k.toLowerCase(), k]));

export const hostConfigShape = t.object(hostConfigFields, {
  kind: "warn",
  hint: (key) => {
    const top = CONFIG_NAMES.get(key.toLowerCase());
    return top
      ? `is a top-level createOptions field (${top}): Docker ignores it inside HostConfig, and so does this agent`
      : "is not a Docker HostConfig field; Docker ignores it, and so does this agent";
  },
});

/** The whole body, `k8s-experimental` excepted (read separately, see createOptions.ts). */
export const dockerBodyShape = t.object(
  { ...configFields, HostConfig: hostConfigShape },
  {
    kind: "warn",
    hint: (key) => {
      const inHost = HOST_CONFIG_NAMES.get(key.toLowerCase());
      return inHost
        ? `is a HostConfig field (HostConfig.${inHost}): Docker ignores it at the top level, and so does this agent`
        : "is not a Docker container-create field; Docker ignores it, and so does this agent";
    },
  },
);

export type DockerBody = Infer<typeof dockerBodyShape>;
export type HostConfig = Infer<typeof hostConfigShape>;
export type DockerMount = Infer<typeof mount>;
export type Healthcheck = NonNullable<DockerBody["Healthcheck"]>;
