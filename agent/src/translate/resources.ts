import type { V1ResourceRequirements } from "@kubernetes/client-node";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";

const NANO = 1e9;

/** Whole millicores, at least 1 so a tiny limit is never read as "no CPU". */
function millicores(cores: number): string {
  return `${Math.max(1, Math.round(cores * 1000))}m`;
}

/**
 * Docker `DeviceRequests` for GPUs (`docker run --gpus`): the NVIDIA device plugin's resource
 * `nvidia.com/gpu`, as many as the request counts. "All GPUs" (Count -1) and GPUs by id have no
 * Kubernetes equivalent and are reported.
 */
function gpuRequests(module: ModuleSpec, warnings: Warnings): number {
  let gpus = 0;
  (module.createOptions.HostConfig?.DeviceRequests ?? []).forEach((request, i) => {
    const at = ["HostConfig", "DeviceRequests", i];
    const isGpu = request.Driver === "nvidia" || (request.Capabilities ?? []).some((set) => set.includes("gpu"));
    if (!isGpu) {
      warnings.addCreateOption(
        module,
        at,
        "only GPU requests map to a device plugin resource (nvidia.com/gpu); ignored",
      );
    } else if (request.DeviceIDs && request.DeviceIDs.length > 0) {
      gpus += request.DeviceIDs.length;
      warnings.addCreateOption(
        module,
        [...at, "DeviceIDs"],
        "the device plugin chooses which GPUs; the count is kept, the ids are not",
      );
    } else if (request.Count === undefined || request.Count < 0) {
      gpus += 1;
      warnings.addCreateOption(
        module,
        [...at, "Count"],
        '"all GPUs" has no Kubernetes equivalent; one nvidia.com/gpu is requested',
      );
    } else gpus += request.Count;
  });
  return gpus;
}

/**
 * Docker's `Memory`, `MemoryReservation`, `NanoCpus`, `CpuQuota`/`CpuPeriod`, `CpuShares` and GPU
 * `DeviceRequests` as container resources (the original ignored them). `k8s-experimental.resources`
 * replaces the lot.
 */
export function containerResources(module: ModuleSpec, warnings: Warnings): V1ResourceRequirements | undefined {
  const override = module.k8sExperimental.resources;
  if (override) return override;
  const host = module.createOptions.HostConfig ?? {};
  const limits: Record<string, string> = {};
  const gpus = gpuRequests(module, warnings);
  if (gpus > 0) limits["nvidia.com/gpu"] = String(gpus);
  const requests: Record<string, string> = {};
  if (host.Memory) limits["memory"] = String(host.Memory);
  if (host.MemoryReservation) requests["memory"] = String(host.MemoryReservation);
  if (host.NanoCpus) limits["cpu"] = millicores(host.NanoCpus / NANO);
  else if (host.CpuQuota && host.CpuQuota > 0) limits["cpu"] = millicores(host.CpuQuota / (host.CpuPeriod || 100000));
  if (host.CpuShares) requests["cpu"] = millicores(host.CpuShares / 1024);
  const result: V1ResourceRequirements = {};
  if (Object.keys(limits).length > 0) result.limits = limits;
  if (Object.keys(requests).length > 0) result.requests = requests;
  return Object.keys(result).length > 0 ? result : undefined;
}

/** A device-plugin resource (`vendor.example/gpu`) in `k8s-experimental.resources`, which makes `Devices` unnecessary. */
export function hasDevicePluginResource(module: ModuleSpec): boolean {
  const { limits = {}, requests = {} } = module.k8sExperimental.resources ?? {};
  return [...Object.keys(limits), ...Object.keys(requests)].some((name) => name.includes("/"));
}
