import type { V1ContainerPort, V1Service, V1ServicePort } from "@kubernetes/client-node";
import type { Managed, TranslationContext } from "./context.ts";
import { objectMeta, moduleSelector } from "./labels.ts";
import type { Warnings } from "./warnings.ts";
import { networkAliases, publishedServiceName } from "../manifest/moduleChecks.ts";
import type { ModuleSpec } from "../manifest/model.ts";

function portName(protocol: string, port: number): string {
  return `${protocol.toLowerCase()}-${port}`;
}

/** Container ports: every exposed port and every bound container port, once (informational on Kubernetes too). */
export function containerPorts(module: ModuleSpec): V1ContainerPort[] {
  const seen = new Set<string>();
  const ports: V1ContainerPort[] = [];
  for (const { port, protocol } of [...module.exposedPorts, ...module.portBindings]) {
    const key = `${port}/${protocol}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ports.push({ name: portName(protocol, port), containerPort: port, protocol });
  }
  return ports.sort(
    (a, b) => a.containerPort - b.containerPort || String(a.protocol).localeCompare(String(b.protocol)),
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
    name: p.name!,
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
      ports: [...ports.values()].sort(
        (a, b) => a.port - b.port || String(a.protocol).localeCompare(String(b.protocol)),
      ),
      ...(loadBalancerIP && type === "LoadBalancer" ? { loadBalancerIP } : {}),
    },
  };
}
