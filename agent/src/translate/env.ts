import type { V1EnvVar } from "@kubernetes/client-node";
import type { TranslationContext } from "./context.ts";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";
import { GATEWAY_HOST_NAME, identityEnv } from "./identity.ts";

/** Variables the IoT Edge runtime gives every module; they win over anything the manifest sets. */
export function injectedEnv(module: ModuleSpec, ctx: TranslationContext): [string, string][] {
  const env: [string, string][] = [
    ["IOTEDGE_IOTHUBHOSTNAME", ctx.hubHostName],
    ["IOTEDGE_DEVICEID", ctx.deviceId],
    ["IOTEDGE_MODULEID", module.id],
  ];
  const generationId = ctx.moduleGenerationIds?.[module.id];
  if (generationId !== undefined && ctx.moduleIdentities !== true)
    env.push(["IOTEDGE_MODULEGENERATIONID", generationId]);
  if (!module.system) env.push(["IOTEDGE_GATEWAYHOSTNAME", GATEWAY_HOST_NAME]);
  return env;
}

/**
 * The container's environment. Precedence, lowest first: createOptions `Env`, the module's `env`
 * section (as the IoT Edge agent merges them), then the injected IOTEDGE_* variables. Names with
 * `:` (.NET configuration sections) are rewritten to `__`, which .NET reads the same way.
 */
export function containerEnv(module: ModuleSpec, ctx: TranslationContext, warnings: Warnings): V1EnvVar[] {
  const merged = new Map<string, string>();
  for (const entry of module.createOptions.Env ?? []) {
    const at = entry.indexOf("=");
    merged.set(at === -1 ? entry : entry.slice(0, at), at === -1 ? "" : entry.slice(at + 1));
  }
  for (const [name, value] of module.env) merged.set(name, value);
  const injected = injectedEnv(module, ctx);
  const identity = ctx.moduleIdentities === true ? identityEnv(module) : [];
  for (const [name] of injected) merged.delete(name);
  for (const { name } of identity) merged.delete(name);
  const env: V1EnvVar[] = [];
  for (const [name, value] of merged) {
    const safeName = name.replaceAll(":", "__");
    if (safeName !== name) {
      warnings.add(
        module,
        ["env", name],
        `environment variable renamed to ${safeName}: Kubernetes rejects ':' in names`,
      );
    }
    env.push({ name: safeName, value });
  }
  for (const [name, value] of injected) env.push({ name, value });
  env.push(...identity);
  return env;
}
