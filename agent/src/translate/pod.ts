import type { V1HostAlias, V1PodDNSConfig } from "@kubernetes/client-node";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Docker `ExtraHosts` (`"name:ip"`) → pod host aliases, grouped by address. */
export function hostAliases(module: ModuleSpec, warnings: Warnings): V1HostAlias[] {
  const byIp = new Map<string, string[]>();
  (module.createOptions.HostConfig?.ExtraHosts ?? []).forEach((entry, i) => {
    const at = entry.search(/[:=]/);
    const [name, ip] = at === -1 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
    if (!name || !ip) {
      warnings.addCreateOption(module, ["HostConfig", "ExtraHosts", i], `"${entry}" is not "name:address"; ignored`);
      return;
    }
    if (ip === "host-gateway") {
      warnings.addCreateOption(
        module,
        ["HostConfig", "ExtraHosts", i],
        `"host-gateway" is a Docker address with no Kubernetes equivalent; ignored`,
      );
      return;
    }
    byIp.set(ip, [...(byIp.get(ip) ?? []), name]);
  });
  return [...byIp].map(([ip, hostnames]) => ({ ip, hostnames }));
}

/**
 * Docker `Dns`, `DnsSearch`, `DnsOptions` → the pod's dnsConfig. The cluster's DNS stays first, as
 * Docker's embedded DNS does on a user network (it answers module names and forwards the rest to the
 * given servers), so module names keep resolving.
 */
export function dnsConfig(module: ModuleSpec): V1PodDNSConfig | undefined {
  const host = module.createOptions.HostConfig ?? {};
  const config: V1PodDNSConfig = {};
  if (host.Dns && host.Dns.length > 0) config.nameservers = host.Dns;
  if (host.DnsSearch && host.DnsSearch.length > 0) config.searches = host.DnsSearch;
  if (host.DnsOptions && host.DnsOptions.length > 0) {
    config.options = host.DnsOptions.map((option) => {
      const at = option.search(/[:=]/);
      return at === -1 ? { name: option } : { name: option.slice(0, at), value: option.slice(at + 1) };
    });
  }
  return Object.keys(config).length > 0 ? config : undefined;
}

/** `HostConfig.Runtime` (e.g. `nvidia`) → the pod's RuntimeClass of that name; runc is the default. */
export function runtimeClassName(module: ModuleSpec, warnings: Warnings): string | undefined {
  const runtime = module.createOptions.HostConfig?.Runtime;
  if (runtime === undefined || runtime === "" || runtime === "runc") return undefined;
  if (!DNS_SUBDOMAIN.test(runtime)) {
    warnings.addCreateOption(
      module,
      ["HostConfig", "Runtime"],
      `"${runtime}" cannot name a RuntimeClass; the cluster's default runtime is used`,
    );
    return undefined;
  }
  return runtime;
}
