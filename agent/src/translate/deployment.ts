import type { V1Deployment, V1DeploymentStrategy, V1PodSpec } from "@kubernetes/client-node";
import { moduleContainer } from "./container.ts";
import type { Managed, TranslationContext } from "./context.ts";
import { ANNOTATION, moduleLabels, moduleSelector, objectMeta } from "./labels.ts";
import { dnsConfig, hostAliases, runtimeClassName } from "./pod.ts";
import { hostNamespaces, podSecurityContext } from "./security.ts";
import type { PodVolumes } from "./volumes.ts";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

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
    securityContext: podSecurityContext(module, warnings),
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
  const dns = dnsConfig(module);
  if (dns) pod.dnsConfig = dns;
  const runtimeClass = runtimeClassName(module, warnings);
  if (runtimeClass) pod.runtimeClassName = runtimeClass;

  const recreate = volumes.needsRecreate || namespaces.hostNetwork === true;
  const strategy: V1DeploymentStrategy | undefined =
    experimental.strategy ?? (recreate ? { type: "Recreate" } : undefined);
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
      ...(strategy ? { strategy } : {}),
      template: {
        metadata: { labels: moduleLabels(ctx, module.k8sName), annotations: podAnnotations },
        spec: pod,
      },
    },
  };
}
