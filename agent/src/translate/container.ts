import type { V1Container } from "@kubernetes/client-node";
import type { TranslationContext } from "./context.ts";
import { containerEnv } from "./env.ts";
import { livenessProbe } from "./probe.ts";
import { containerResources } from "./resources.ts";
import { containerSecurityContext } from "./security.ts";
import { containerPorts } from "./service.ts";
import type { PodVolumes } from "./volumes.ts";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";

const PULL_POLICY = { "on-create": "IfNotPresent", never: "Never" } as const;

/**
 * The module's container. `Entrypoint` and `Cmd` are already lists: Docker takes a single string as
 * a one-element list (its StrSlice type), not as words, so `"Cmd": "run --fast"` is one argument.
 */
export function moduleContainer(
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
  if (options.Entrypoint && options.Entrypoint.length > 0) container.command = options.Entrypoint;
  if (options.Cmd && options.Cmd.length > 0) container.args = options.Cmd;
  if (options.WorkingDir) container.workingDir = options.WorkingDir;
  if (options.Tty === true) container.tty = true;
  if (options.OpenStdin === true) container.stdin = true;
  if (options.StdinOnce === true) container.stdinOnce = true;
  const ports = containerPorts(module);
  if (ports.length > 0) container.ports = ports;
  if (volumes.mounts.length > 0) container.volumeMounts = volumes.mounts;
  const resources = containerResources(module, warnings);
  if (resources) container.resources = resources;
  const securityContext = containerSecurityContext(module, warnings);
  if (securityContext) container.securityContext = securityContext;
  const probe = livenessProbe(module, warnings);
  if (probe) container.livenessProbe = probe;
  return container;
}
