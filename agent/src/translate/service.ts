import type { V1ContainerPort, V1Service, V1ServicePort } from "@kubernetes/client-node";
import type { Managed, TranslationContext } from "./context.ts";
import { objectMeta, moduleSelector } from "./labels.ts";
import type { Warnings } from "./warnings.ts";
import { networkAliases, publishedServiceName } from "../manifest/moduleChecks.ts";
import type { ModuleSpec } from "../manifest/model.ts";
import { compareText } from "../runtime/canonical.ts";

function portName(protocol: string, port: number): string {
  return `${protocol.toLowerCase()}-${port}`;
}

/**
 * How many published container ports a module can have that the device's NetworkPolicy admits from
 * outside. On Docker a PortBinding publishes the port on the host to anyone; on Kubernetes the device
 * namespace denies ingress by default, so the Pulumi program's `allow-published-ports` policy admits
 * exactly the container ports named below, by name (a NetworkPolicy cannot match a name prefix).
 */
export const MAX_PUBLISHED_PORTS = 16;

/** The names the agent gives published container ports, in order; the device policy lists them all. */
export function publishedPortNames(): string[] {
  return Array.from({ length: MAX_PUBLISHED_PORTS }, (_, i) => `edgek8s-pub-${String(i + 1)}`);
}

type PortKey = { readonly port: number; readonly protocol: string };
const byPort = (a: PortKey, b: PortKey) => a.port - b.port || compareText(a.protocol, b.protocol);

/** The distinct container ports a module's PortBindings publish, in port order. */
function publishedContainerPorts(module: ModuleSpec): PortKey[] {
  const keys = new Map(
    module.portBindings.map((b) => [`${b.port}/${b.protocol}`, { port: b.port, protocol: b.protocol }]),
  );
  return [...keys.values()].sort(byPort);
}

/**
 * Container ports: every exposed port and every bound container port, once. A published one is named
 * `edgek8s-pub-<n>` so the device's NetworkPolicy admits it from outside; the others `<proto>-<port>`.
 */
export function containerPorts(module: ModuleSpec): V1ContainerPort[] {
  const published = publishedContainerPorts(module).map((p) => `${p.port}/${p.protocol}`);
  const names = publishedPortNames();
  const seen = new Set<string>();
  const ports: V1ContainerPort[] = [];
  for (const { port, protocol } of [...module.exposedPorts, ...module.portBindings]) {
    const key = `${port}/${protocol}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const index = published.indexOf(key);
    ports.push({ name: names[index] ?? portName(protocol, port), containerPort: port, protocol });
  }
  return ports.sort((a, b) =>
    byPort(
      { port: a.containerPort, protocol: String(a.protocol) },
      { port: b.containerPort, protocol: String(b.protocol) },
    ),
  );
}

/**
 * The module's name on the device network, as Docker's `azure-iot-edge` network gives it: a
 * headless Service named like the module, whose DNS name resolves to the module's pod, so every
 * other module reaches it by that name on every port it listens on (no ExposedPorts needed;
 * `edgehub` answers on 5671, 8883 and 443 with or without PortBindings). Like Docker's DNS it
 * answers as soon as the pod has an address, ready or not. The ports it lists are informational.
 */
export function moduleNameServices(
  module: ModuleSpec,
  ctx: TranslationContext,
  annotations: Record<string, string>,
): Managed<V1Service>[] {
  const ports: V1ServicePort[] = containerPorts(module).map((p) => ({
    name: portName(p.protocol!, p.containerPort),
    port: p.containerPort,
    targetPort: p.containerPort,
    protocol: p.protocol!,
  }));
  // Docker network aliases are more names on the same network: one more headless Service each.
  const names = [module.k8sName, ...networkAliases(module).map((a) => a.name)];
  return names.map((name) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: objectMeta(ctx, module.k8sName, annotations, name),
    spec: {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: moduleSelector(ctx, module.k8sName),
      ...(ports.length > 0 ? { ports } : {}),
    },
  }));
}

/**
 * `HostConfig.PortBindings`: what the device publishes outside (edgeHub's gateway ports for
 * downstream devices, a module's web UI): HostPort → Service port, container port → targetPort, type
 * from `k8s-experimental.serviceOptions.type`, else the agent's configured default.
 */
export function publishedService(
  module: ModuleSpec,
  ctx: TranslationContext,
  annotations: Record<string, string>,
  warnings: Warnings,
): Managed<V1Service> | undefined {
  if (module.portBindings.length === 0) return undefined;
  for (const beyond of publishedContainerPorts(module).slice(MAX_PUBLISHED_PORTS)) {
    const binding = module.portBindings.find((b) => b.port === beyond.port && b.protocol === beyond.protocol);
    warnings.at(
      binding?.at ?? ["HostConfig", "PortBindings"],
      `the device's NetworkPolicy admits the first ${String(MAX_PUBLISHED_PORTS)} published container ports from outside; this one is published by its Service but reachable only where policies are not enforced`,
    );
  }
  const ports = new Map<string, V1ServicePort>();
  for (const binding of module.portBindings) {
    if (binding.hostIp !== "" && binding.hostIp !== "0.0.0.0" && binding.hostIp !== "::") {
      warnings.at(
        [...binding.at, "HostIp"],
        `"${binding.hostIp}": a Service cannot publish on one host address; port ${binding.hostPort} is published on every address its type uses`,
      );
    }
    ports.set(`${binding.hostPort}/${binding.protocol}`, {
      name: portName(binding.protocol, binding.hostPort),
      port: binding.hostPort,
      targetPort: binding.port,
      protocol: binding.protocol,
    });
  }
  const options = module.k8sExperimental.serviceOptions;
  const name = publishedServiceName(module.id);
  const type = options?.type ?? ctx.defaults.serviceType;
  const loadBalancerIP = options?.loadBalancerIP;
  if (loadBalancerIP && type !== "LoadBalancer") {
    warnings.addCreateOption(
      module,
      ["k8s-experimental", "serviceOptions", "loadBalancerIP"],
      `applies to a LoadBalancer Service; this one is ${type}, so it is not used`,
    );
  }
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: objectMeta(ctx, module.k8sName, annotations, name),
    spec: {
      type,
      selector: moduleSelector(ctx, module.k8sName),
      ports: [...ports.values()].sort((a, b) => a.port - b.port || compareText(String(a.protocol), String(b.protocol))),
      ...(loadBalancerIP && type === "LoadBalancer" ? { loadBalancerIP } : {}),
    },
  };
}
