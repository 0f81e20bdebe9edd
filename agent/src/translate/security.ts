import type { V1PodSecurityContext, V1SecurityContext } from "@kubernetes/client-node";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";

/** Docker says `CAP_NET_ADMIN` or `NET_ADMIN`; Kubernetes only the latter. */
function capability(name: string): string {
  return name.toUpperCase().replace(/^CAP_/, "");
}

/** `User` as `uid[:gid]`; names cannot be resolved without the image, so they are reported. */
function userIds(module: ModuleSpec, warnings: Warnings): { runAsUser?: number; runAsGroup?: number } {
  const user = module.createOptions.User;
  if (user === undefined || user === "") return {};
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match) {
    warnings.addCreateOption(
      module,
      ["User"],
      `"${user}" is not numeric; Kubernetes needs a uid[:gid], so the image's user is used`,
    );
    return {};
  }
  return { runAsUser: Number(match[1]), ...(match[2] !== undefined ? { runAsGroup: Number(match[2]) } : {}) };
}

export function containerSecurityContext(module: ModuleSpec, warnings: Warnings): V1SecurityContext | undefined {
  const host = module.createOptions.HostConfig ?? {};
  const context: V1SecurityContext = { ...userIds(module, warnings) };
  if (host.Privileged) context.privileged = true;
  if (host.ReadonlyRootfs) context.readOnlyRootFilesystem = true;
  const add = (host.CapAdd ?? []).map(capability);
  const drop = (host.CapDrop ?? []).map(capability);
  if (add.length > 0 || drop.length > 0) {
    context.capabilities = {};
    if (add.length > 0) context.capabilities.add = add;
    if (drop.length > 0) context.capabilities.drop = drop;
  }
  return Object.keys(context).length > 0 ? context : undefined;
}

/** Host namespaces a pod may share, from `NetworkMode`/`IpcMode`/`PidMode`. */
export interface HostNamespaces {
  hostNetwork?: boolean;
  hostIPC?: boolean;
  hostPID?: boolean;
  dnsPolicy?: string;
}

/** Network modes that mean "the container network", which the cluster network replaces. */
const CONTAINER_NETWORKS = new Set(["", "default", "bridge", "azure-iot-edge"]);

export function hostNamespaces(module: ModuleSpec, warnings: Warnings): HostNamespaces {
  const host = module.createOptions.HostConfig ?? {};
  const result: HostNamespaces = {};
  const network = host.NetworkMode ?? "";
  if (network === "host") {
    result.hostNetwork = true;
    result.dnsPolicy = "ClusterFirstWithHostNet";
  } else if (!CONTAINER_NETWORKS.has(network)) {
    warnings.addCreateOption(
      module,
      ["HostConfig", "NetworkMode"],
      `"${network}" has no Kubernetes equivalent; the pod uses the cluster network`,
    );
  }
  if (host.IpcMode === "host") result.hostIPC = true;
  else if (host.IpcMode && !["private", "shareable", "none"].includes(host.IpcMode)) {
    warnings.addCreateOption(
      module,
      ["HostConfig", "IpcMode"],
      `"${host.IpcMode}" has no Kubernetes equivalent; ignored`,
    );
  }
  if (host.PidMode === "host") result.hostPID = true;
  else if (host.PidMode) {
    warnings.addCreateOption(
      module,
      ["HostConfig", "PidMode"],
      `"${host.PidMode}" has no Kubernetes equivalent; ignored`,
    );
  }
  return result;
}

/**
 * The pod's security context: Docker's default seccomp profile (RuntimeDefault) and `Sysctls`,
 * or `k8s-experimental.securityContext` verbatim when given.
 */
export function podSecurityContext(module: ModuleSpec): V1PodSecurityContext {
  const given = module.k8sExperimental.securityContext;
  if (given) return given;
  const context: V1PodSecurityContext = { seccompProfile: { type: "RuntimeDefault" } };
  const sysctls = Object.entries(module.createOptions.HostConfig?.Sysctls ?? {});
  if (sysctls.length > 0) context.sysctls = sysctls.map(([name, value]) => ({ name, value }));
  return context;
}
