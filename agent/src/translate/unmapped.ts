import { hasDevicePluginResource } from "./resources.ts";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";

/** createOptions fields translation maps (DESIGN §6); every other field is reported, never dropped silently. */
export const MAPPED_FIELDS = [
  "Hostname",
  "User",
  "Env",
  "Cmd",
  "Entrypoint",
  "WorkingDir",
  "Labels",
  "ExposedPorts",
  "Volumes",
  "Healthcheck",
  "StopTimeout",
  "HostConfig",
] as const;

export const MAPPED_HOST_CONFIG_FIELDS = [
  "Binds",
  "Mounts",
  "PortBindings",
  "Memory",
  "MemoryReservation",
  "NanoCpus",
  "CpuQuota",
  "CpuPeriod",
  "CpuShares",
  "Privileged",
  "CapAdd",
  "CapDrop",
  "ReadonlyRootfs",
  "NetworkMode",
  "IpcMode",
  "PidMode",
  "Tmpfs",
  "ExtraHosts",
  "ShmSize",
  "Sysctls",
  "Devices",
] as const;

const mapped = new Set<string>(MAPPED_FIELDS);
const mappedHost = new Set<string>(MAPPED_HOST_CONFIG_FIELDS);

export function reportUnmapped(module: ModuleSpec, warnings: Warnings): void {
  for (const field of Object.keys(module.createOptions)) {
    if (!mapped.has(field)) warnings.addCreateOption(module, [field], "has no Kubernetes equivalent; ignored");
  }
  const host = module.createOptions.HostConfig ?? {};
  for (const field of Object.keys(host)) {
    if (!mappedHost.has(field))
      warnings.addCreateOption(module, ["HostConfig", field], "has no Kubernetes equivalent; ignored");
  }
  if ((host.Devices ?? []).length > 0 && !hasDevicePluginResource(module)) {
    warnings.addCreateOption(
      module,
      ["HostConfig", "Devices"],
      "host devices cannot be given to a pod directly; request a device plugin resource in k8s-experimental.resources",
    );
  }
}
