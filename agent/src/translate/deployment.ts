import type { V1Container, V1Deployment, V1HostAlias, V1PodSpec } from "@kubernetes/client-node";
import type { Managed, TranslationContext } from "./context.ts";
import { containerEnv } from "./env.ts";
import { ANNOTATION, moduleLabels, moduleSelector, objectMeta } from "./labels.ts";
import { livenessProbe } from "./probe.ts";
import { containerResources } from "./resources.ts";
import { containerSecurityContext, hostNamespaces, podSecurityContext } from "./security.ts";
import { containerPorts } from "./service.ts";
import type { PodVolumes } from "./volumes.ts";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";

const PULL_POLICY = { "on-create": "IfNotPresent", never: "Never" } as const;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function commandLine(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value.split(/\s+/).filter((part) => part !== "") : value;
}

function moduleContainer(
  module: ModuleSpec,
  ctx: TranslationContext,
  volumes: PodVolumes,
  warnings: Warnings,
): V1Container {
  const options = module.createOptions;
  const container: V1Container = {
    name: module.k8sName,
    image: module.image,
    imagePullPolicy: PULL_POLICY[module.imagePullPolicy],
    env: containerEnv(module, ctx, warnings),
  };
  const command = commandLine(options.Entrypoint);
  const args = commandLine(options.Cmd);
  if (command) container.command = command;
  if (args) container.args = args;
  if (options.WorkingDir) container.workingDir = options.WorkingDir;
  const ports = containerPorts(module);
  if (ports.length > 0) container.ports = ports;
  if (volumes.mounts.length > 0) container.volumeMounts = volumes.mounts;
  const resources = containerResources(module);
  if (resources) container.resources = resources;
  const securityContext = containerSecurityContext(module, warnings);
  if (securityContext) container.securityContext = securityContext;
  const probe = livenessProbe(module, warnings);
  if (probe) container.livenessProbe = probe;
  return container;
}

/** Docker `ExtraHosts` (`"name:ip"`) → pod host aliases, grouped by address. */
function hostAliases(module: ModuleSpec, warnings: Warnings): V1HostAlias[] {
  const byIp = new Map<string, string[]>();
  (module.createOptions.HostConfig?.ExtraHosts ?? []).forEach((entry, i) => {
    const at = entry.search(/[:=]/);
    const [name, ip] = at === -1 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
    if (!name || !ip) {
      warnings.addCreateOption(module, ["HostConfig", "ExtraHosts", i], `"${entry}" is not "name:address"; ignored`);
      return;
    }
    byIp.set(ip, [...(byIp.get(ip) ?? []), name]);
  });
  return [...byIp].map(([ip, hostnames]) => ({ ip, hostnames }));
}

/** What Kubernetes cannot do of a Docker restart policy, said once per module. */
function reportRestartPolicy(module: ModuleSpec, hasProbe: boolean, warnings: Warnings): void {
  const at = ["restartPolicy"];
  if (module.restartPolicy === "never" || module.restartPolicy === "on-failure") {
    warnings.add(
      module,
      at,
      `"${module.restartPolicy}": a Deployment restarts its container after any exit, clean or not`,
    );
  } else if (module.restartPolicy === "on-unhealthy" && !hasProbe) {
    warnings.add(module, at, '"on-unhealthy" without a Healthcheck: the container is restarted only when it exits');
  }
}

export function moduleDeployment(
  module: ModuleSpec,
  ctx: TranslationContext,
  volumes: PodVolumes,
  podAnnotations: Record<string, string>,
  imagePullSecrets: { name: string }[],
  warnings: Warnings,
): Managed<V1Deployment> {
  const container = moduleContainer(module, ctx, volumes, warnings);
  reportRestartPolicy(module, container.livenessProbe !== undefined, warnings);
  const namespaces = hostNamespaces(module, warnings);
  const experimental = module.k8sExperimental;
  const pod: V1PodSpec = {
    serviceAccountName: module.k8sName,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    restartPolicy: "Always",
    securityContext: podSecurityContext(module),
    containers: [container],
    ...namespaces,
  };
  const hostname = module.createOptions.Hostname;
  if (hostname !== undefined && DNS_LABEL.test(hostname)) pod.hostname = hostname;
  else if (hostname !== undefined) {
    warnings.addCreateOption(module, ["Hostname"], `"${hostname}" is not a DNS label; the pod keeps its own host name`);
  }
  const stopTimeout = module.createOptions.StopTimeout;
  if (stopTimeout !== undefined) pod.terminationGracePeriodSeconds = stopTimeout;
  if (imagePullSecrets.length > 0) pod.imagePullSecrets = imagePullSecrets;
  if (volumes.volumes.length > 0) pod.volumes = volumes.volumes;
  const aliases = hostAliases(module, warnings);
  if (aliases.length > 0) pod.hostAliases = aliases;
  if (experimental.nodeSelector) pod.nodeSelector = experimental.nodeSelector;
  if (experimental.tolerations) pod.tolerations = experimental.tolerations;
  if (experimental.affinity) pod.affinity = experimental.affinity;

  const recreate = volumes.needsRecreate || namespaces.hostNetwork === true;
  const strategyType = experimental.strategy?.type ?? (recreate ? "Recreate" : undefined);
  const annotations: Record<string, string> = {
    [ANNOTATION.moduleId]: module.id,
    [ANNOTATION.startupOrder]: String(module.startupOrder),
  };
  if (module.version !== undefined) annotations[ANNOTATION.moduleVersion] = module.version;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: objectMeta(ctx, module.k8sName, annotations),
    spec: {
      replicas: module.status === "running" ? 1 : 0,
      revisionHistoryLimit: 3,
      selector: { matchLabels: moduleSelector(ctx, module.k8sName) },
      ...(strategyType ? { strategy: { type: strategyType } } : {}),
      template: {
        metadata: { labels: moduleLabels(ctx, module.k8sName), annotations: podAnnotations },
        spec: pod,
      },
    },
  };
}
