import type { V1PodSecurityContext, V1SecurityContext } from "@kubernetes/client-node";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";

/** Docker says `CAP_NET_ADMIN` or `NET_ADMIN`; Kubernetes only the latter. */
function capability(name: string): string {
  return name.toUpperCase().replace(/^CAP_/, "");
}

/** `root` is uid and gid 0 in every image; other names need the image's /etc/passwd. */
function numericId(text: string): string {
  return text === "root" ? "0" : text;
}

/** `User` as `uid[:gid]` (`root` is 0); other names cannot be resolved without the image, so they are reported. */
function userIds(module: ModuleSpec, warnings: Warnings): { runAsUser?: number; runAsGroup?: number } {
  const raw = module.createOptions.User;
  if (raw === undefined || raw === "") return {};
  const user = raw.split(":").map(numericId).join(":");
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match) {
    warnings.addCreateOption(
      module,
      ["User"],
      `"${raw}" is not numeric; Kubernetes needs a uid[:gid], so the image's user is used`,
    );
    return {};
  }
  return { runAsUser: Number(match[1]), ...(match[2] !== undefined ? { runAsGroup: Number(match[2]) } : {}) };
}

/**
 * Docker `SecurityOpt`: `no-new-privileges` → allowPrivilegeEscalation false; `seccomp=unconfined`
 * and `apparmor=unconfined` → the Unconfined profiles; anything else (profiles by file, SELinux
 * labels) names something on the Docker host and is reported.
 */
function securityOptions(module: ModuleSpec, context: V1SecurityContext, warnings: Warnings): void {
  (module.createOptions.HostConfig?.SecurityOpt ?? []).forEach((option, i) => {
    const [key = "", value = ""] = option.split(/[=:](.*)/s);
    if (key === "no-new-privileges" && (value === "" || value === "true")) context.allowPrivilegeEscalation = false;
    else if (key === "no-new-privileges" && value === "false") return;
    else if (key === "seccomp" && value === "unconfined") context.seccompProfile = { type: "Unconfined" };
    else if (key === "apparmor" && value === "unconfined") context.appArmorProfile = { type: "Unconfined" };
    else
      warnings.addCreateOption(
        module,
        ["HostConfig", "SecurityOpt", i],
        `"${option}" has no Kubernetes equivalent here; ignored`,
      );
  });
}

export function containerSecurityContext(module: ModuleSpec, warnings: Warnings): V1SecurityContext | undefined {
  const host = module.createOptions.HostConfig ?? {};
  const context: V1SecurityContext = { ...userIds(module, warnings) };
  securityOptions(module, context, warnings);
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

/** Modes are matched case-insensitively ("Host" appears in real manifests). */
export function hostNamespaces(module: ModuleSpec, warnings: Warnings): HostNamespaces {
  const host = module.createOptions.HostConfig ?? {};
  const result: HostNamespaces = {};
  const network = (host.NetworkMode ?? "").toLowerCase();
  if (network === "host") {
    result.hostNetwork = true;
    result.dnsPolicy = "ClusterFirstWithHostNet";
  } else if (!CONTAINER_NETWORKS.has(network)) {
    warnings.addCreateOption(
      module,
      ["HostConfig", "NetworkMode"],
      `"${host.NetworkMode ?? ""}" is a Docker network of its own; on Kubernetes the pod joins the device network, where every module reaches it by name`,
    );
  }
  const ipc = host.IpcMode?.toLowerCase();
  if (ipc === "host") result.hostIPC = true;
  else if (host.IpcMode && !["private", "shareable", "none", ""].includes(ipc ?? "")) {
    warnings.addCreateOption(
      module,
      ["HostConfig", "IpcMode"],
      `"${host.IpcMode}" has no Kubernetes equivalent; ignored`,
    );
  }
  if (host.PidMode?.toLowerCase() === "host") result.hostPID = true;
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
 * The pod's security context: Docker's default seccomp profile (RuntimeDefault), `Sysctls` and
 * numeric `GroupAdd` (supplementalGroups), or `k8s-experimental.securityContext` verbatim when given.
 */
export function podSecurityContext(module: ModuleSpec, warnings: Warnings): V1PodSecurityContext {
  const given = module.k8sExperimental.securityContext;
  if (given) return given;
  const host = module.createOptions.HostConfig ?? {};
  const context: V1PodSecurityContext = { seccompProfile: { type: "RuntimeDefault" } };
  const sysctls = Object.entries(host.Sysctls ?? {});
  if (sysctls.length > 0) context.sysctls = sysctls.map(([name, value]) => ({ name, value }));
  const groups: number[] = [];
  (host.GroupAdd ?? []).forEach((group, i) => {
    const id = numericId(group);
    if (/^\d+$/.test(id)) groups.push(Number(id));
    else
      warnings.addCreateOption(
        module,
        ["HostConfig", "GroupAdd", i],
        `"${group}" is not numeric; Kubernetes needs a gid; ignored`,
      );
  });
  if (groups.length > 0) context.supplementalGroups = groups;
  return context;
}
