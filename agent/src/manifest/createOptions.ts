import { z } from "zod";

/**
 * The subset of Docker's container-create body (API v1.40+) that IoT Edge manifests use, typed.
 * Objects are loose: fields we do not model are kept so translation can report them, never drop
 * them silently. Field names are Docker's, so a path in an error matches what the user wrote.
 */

const nonNegativeInt = z.number().int().nonnegative();
const stringList = z.array(z.string());
/** Docker accepts `"cmd arg"` or `["cmd", "arg"]` for Cmd and Entrypoint. */
const commandLine = z.union([z.string(), stringList], { error: "must be a string or an array of strings" });

const portBinding = z.looseObject({
  HostIp: z.string().optional(),
  HostPort: z.union([z.string(), z.number().int()]).optional(),
});

const mount = z.looseObject({
  Type: z.enum(["bind", "volume", "tmpfs"]),
  Source: z.string().optional(),
  Target: z.string().min(1),
  ReadOnly: z.boolean().optional(),
  TmpfsOptions: z.looseObject({ SizeBytes: nonNegativeInt.optional() }).optional(),
});

const device = z.looseObject({
  PathOnHost: z.string(),
  PathInContainer: z.string().optional(),
  CgroupPermissions: z.string().optional(),
});

export const hostConfigSchema = z.looseObject({
  Binds: stringList.optional(),
  Mounts: z.array(mount).optional(),
  PortBindings: z.record(z.string(), z.array(portBinding).nullable()).optional(),
  Memory: nonNegativeInt.optional(),
  MemoryReservation: nonNegativeInt.optional(),
  NanoCpus: nonNegativeInt.optional(),
  CpuQuota: z.number().int().optional(),
  CpuPeriod: nonNegativeInt.optional(),
  CpuShares: nonNegativeInt.optional(),
  Privileged: z.boolean().optional(),
  CapAdd: stringList.optional(),
  CapDrop: stringList.optional(),
  ReadonlyRootfs: z.boolean().optional(),
  NetworkMode: z.string().optional(),
  IpcMode: z.string().optional(),
  PidMode: z.string().optional(),
  Devices: z.array(device).optional(),
  Tmpfs: z.record(z.string(), z.string()).optional(),
  ExtraHosts: stringList.optional(),
  ShmSize: nonNegativeInt.optional(),
  Sysctls: z.record(z.string(), z.string()).optional(),
});

export const healthcheckSchema = z.looseObject({
  Test: stringList.min(1).optional(),
  Interval: nonNegativeInt.optional(),
  Timeout: nonNegativeInt.optional(),
  Retries: nonNegativeInt.optional(),
  StartPeriod: nonNegativeInt.optional(),
});

/** Kubernetes objects carried verbatim in the `k8s-experimental` section; shape-checked only. */
const k8sObject = z.record(z.string(), z.unknown());
const k8sVolume = z.looseObject({
  volume: z.looseObject({ name: z.string().min(1) }),
  volumeMounts: z.array(z.looseObject({ name: z.string().min(1), mountPath: z.string().min(1) })).optional(),
  volumeMount: z.looseObject({ name: z.string().min(1), mountPath: z.string().min(1) }).optional(),
});

export const k8sExperimentalSchema = z.strictObject({
  volumes: z.array(k8sVolume).optional(),
  resources: z
    .looseObject({
      limits: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
      requests: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    })
    .optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  securityContext: k8sObject.optional(),
  serviceOptions: z
    .strictObject({
      type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]).optional(),
      loadBalancerIP: z.string().optional(),
    })
    .optional(),
  strategy: z.strictObject({ type: z.enum(["Recreate", "RollingUpdate"]) }).optional(),
  tolerations: z.array(k8sObject).optional(),
  affinity: k8sObject.optional(),
  /** edgek8s: whether this module's PersistentVolumeClaims are deleted when the module is removed. */
  pvcRetention: z.enum(["Retain", "Delete"]).optional(),
});

export const createOptionsSchema = z.looseObject({
  Hostname: z.string().optional(),
  User: z.string().optional(),
  Env: stringList.optional(),
  Cmd: commandLine.optional(),
  Entrypoint: commandLine.optional(),
  WorkingDir: z.string().optional(),
  Labels: z.record(z.string(), z.string()).optional(),
  ExposedPorts: z.record(z.string(), z.looseObject({})).optional(),
  Volumes: z.record(z.string(), z.looseObject({})).optional(),
  Healthcheck: healthcheckSchema.optional(),
  StopSignal: z.string().optional(),
  StopTimeout: nonNegativeInt.optional(),
  HostConfig: hostConfigSchema.optional(),
});

export type CreateOptions = z.infer<typeof createOptionsSchema>;
export type HostConfig = z.infer<typeof hostConfigSchema>;
export type Healthcheck = z.infer<typeof healthcheckSchema>;
export type K8sExperimental = z.infer<typeof k8sExperimentalSchema>;
export type DockerMount = z.infer<typeof mount>;

export const K8S_EXPERIMENTAL_KEY = "k8s-experimental";

/** Finds the `k8s-experimental` section and lower-cases its keys (the original matched them case-insensitively). */
export function splitK8sExperimental(createOptions: Record<string, unknown>): {
  docker: Record<string, unknown>;
  k8sExperimental: unknown;
  k8sExperimentalKey: string | undefined;
} {
  const docker: Record<string, unknown> = {};
  let k8sExperimental: unknown;
  let k8sExperimentalKey: string | undefined;
  for (const [key, value] of Object.entries(createOptions)) {
    if (key.toLowerCase() === K8S_EXPERIMENTAL_KEY) {
      k8sExperimentalKey = key;
      k8sExperimental = lowerCaseKnownKeys(value);
    } else {
      docker[key] = value;
    }
  }
  return { docker, k8sExperimental, k8sExperimentalKey };
}

const knownK8sKeys = new Map(Object.keys(k8sExperimentalSchema.shape).map((k) => [k.toLowerCase(), k]));

function lowerCaseKnownKeys(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [knownK8sKeys.get(k.toLowerCase()) ?? k, v]));
}
