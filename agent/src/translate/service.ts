import type { V1ContainerPort, V1Service, V1ServicePort } from "@kubernetes/client-node";
import type { Managed, TranslationContext } from "./context.ts";
import { objectMeta, moduleSelector } from "./labels.ts";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";

function portName(protocol: string, port: number): string {
  return `${protocol.toLowerCase()}-${port}`;
}

/** Container ports: every exposed port and every bound container port, once. */
export function containerPorts(module: ModuleSpec): V1ContainerPort[] {
  const seen = new Set<string>();
  const ports: V1ContainerPort[] = [];
  for (const { port, protocol } of [...module.exposedPorts, ...module.portBindings]) {
    const key = `${port}/${protocol}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ports.push({ containerPort: port, protocol });
  }
  return ports;
}

/**
 * The module's Service, named like the module so other modules reach it by the name they use
 * with Docker (`edgehub`). `ExposedPorts` serve on their own number; `PortBindings` serve on the
 * host port and forward to the container port.
 */
export function moduleService(
  module: ModuleSpec,
  ctx: TranslationContext,
  annotations: Record<string, string>,
  warnings: Warnings,
): Managed<V1Service> | undefined {
  const ports = new Map<string, V1ServicePort>();
  for (const binding of module.portBindings) {
    ports.set(`${binding.hostPort}/${binding.protocol}`, {
      name: portName(binding.protocol, binding.hostPort),
      port: binding.hostPort,
      targetPort: binding.port,
      protocol: binding.protocol,
    });
  }
  for (const exposed of module.exposedPorts) {
    const key = `${exposed.port}/${exposed.protocol}`;
    const bound = ports.get(key);
    if (bound && bound.targetPort !== exposed.port) {
      warnings.addCreateOption(
        module,
        ["ExposedPorts", key.toLowerCase()],
        `port ${key.toLowerCase()} is also a host port forwarding to ${String(bound.targetPort)}; the Service serves the binding`,
      );
      continue;
    }
    ports.set(key, {
      name: portName(exposed.protocol, exposed.port),
      port: exposed.port,
      targetPort: exposed.port,
      protocol: exposed.protocol,
    });
  }
  if (ports.size === 0) return undefined;
  const options = module.k8sExperimental.serviceOptions;
  const type = options?.type ?? (module.portBindings.length > 0 ? ctx.defaults.serviceType : "ClusterIP");
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: objectMeta(ctx, module.k8sName, annotations),
    spec: {
      type,
      selector: moduleSelector(ctx, module.k8sName),
      ports: [...ports.values()].sort(
        (a, b) => a.port - b.port || String(a.protocol).localeCompare(String(b.protocol)),
      ),
      ...(options?.loadBalancerIP ? { loadBalancerIP: options.loadBalancerIP } : {}),
    },
  };
}
