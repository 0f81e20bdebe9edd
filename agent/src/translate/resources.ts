import type { V1ResourceRequirements } from "@kubernetes/client-node";
import type { ModuleSpec } from "../manifest/model.ts";

const NANO = 1e9;

/** Whole millicores, at least 1 so a tiny limit is never read as "no CPU". */
function millicores(cores: number): string {
  return `${Math.max(1, Math.round(cores * 1000))}m`;
}

/**
 * Docker's `Memory`, `MemoryReservation`, `NanoCpus`, `CpuQuota`/`CpuPeriod` and `CpuShares` as
 * container resources (the original ignored them). `k8s-experimental.resources` replaces the lot.
 */
export function containerResources(module: ModuleSpec): V1ResourceRequirements | undefined {
  const override = module.k8sExperimental.resources;
  if (override) {
    const asStrings = (q: Record<string, string | number> | undefined) =>
      q && Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)]));
    const result: V1ResourceRequirements = {};
    const limits = asStrings(override.limits);
    const requests = asStrings(override.requests);
    if (limits) result.limits = limits;
    if (requests) result.requests = requests;
    return result;
  }
  const host = module.createOptions.HostConfig ?? {};
  const limits: Record<string, string> = {};
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
