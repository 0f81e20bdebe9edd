import type { V1EnvVar } from "@kubernetes/client-node";
import type { TranslationContext } from "./context.ts";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";
import { GATEWAY_HOST_NAME, identityEnv } from "./identity.ts";

/**
 * What the IoT Edge agent injects when it creates a module, and what edgek8s injects of it
 * (edge-agent/src/Microsoft.Azure.Devices.Edge.Agent.Edgelet/commands/CreateOrUpdateCommand.cs,
 * GetEnvVars):
 * - IOTEDGE_IOTHUBHOSTNAME, IOTEDGE_DEVICEID, IOTEDGE_MODULEID, IOTEDGE_MODULEGENERATIONID: yes;
 * - IOTEDGE_GATEWAYHOSTNAME for user modules: yes, `edgehub` (the runtime gives the device's host
 *   name, which resolves to edgeHub through a network alias; here `edgehub` is edgeHub's name);
 * - EdgeDeviceHostName for edgeHub: yes, `edgehub`, the name its server certificate is made for;
 * - IOTEDGE_PARENTHOSTNAME for user modules of a nested device: yes, when the parent is configured;
 * - RuntimeLogLevel: yes, "Information" (the agent's default level, Logger.GetLogLevel()), unless
 *   the module's env sets it — the only injected name the module may override, with UpstreamProtocol;
 * - IOTEDGE_WORKLOADURI, IOTEDGE_AUTHSCHEME, IOTEDGE_APIVERSION: no. They point the SDKs at the
 *   security daemon's workload socket, which does not exist here; modules authenticate with the
 *   EdgeHubConnectionString the hub bridge provides (DESIGN §4), which the SDKs read first;
 * - UpstreamProtocol, Mode, ManagementUri, NetworkId: the agent's own settings; not injected.
 */
export function injectedEnv(module: ModuleSpec, ctx: TranslationContext): [string, string][] {
  const env: [string, string][] = [
    ["IOTEDGE_IOTHUBHOSTNAME", ctx.hubHostName],
    ["IOTEDGE_DEVICEID", ctx.deviceId],
    ["IOTEDGE_MODULEID", module.id],
  ];
  const generationId = ctx.moduleGenerationIds?.[module.id];
  if (generationId !== undefined && ctx.moduleIdentities !== true)
    env.push(["IOTEDGE_MODULEGENERATIONID", generationId]);
  if (module.system) env.push(["EdgeDeviceHostName", GATEWAY_HOST_NAME]);
  else {
    env.push(["IOTEDGE_GATEWAYHOSTNAME", GATEWAY_HOST_NAME]);
    const parent = ctx.defaults.parentHostname;
    if (parent !== undefined && parent !== "") env.push(["IOTEDGE_PARENTHOSTNAME", parent]);
  }
  return env;
}

/** Injected only when the module's `env` does not set them (GetEnvVars: RuntimeLogLevel). */
const DEFAULTED: readonly (readonly [string, string])[] = [["RuntimeLogLevel", "Information"]];

/** Docker's `Env` entry: `NAME=value`, or `NAME` (edgelet makes it `NAME=`, an empty value). */
function splitEntry(entry: string): [string, string] {
  const at = entry.indexOf("=");
  return at === -1 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
}

/**
 * The container's environment, merged as the runtime merges it. The agent sends the module's `env`
 * followed by the injected variables (a module `env` that repeats an injected name makes edgelet
 * refuse the module: "duplicate env var key" in edgelet/edgelet-http/src/modules.rs; here the
 * injected value wins and it is reported); edgelet then lays createOptions `Env` over that list, so
 * `Env` wins over everything (merge_env in edgelet/edgelet-docker/src/runtime.rs). Names with `:`
 * (.NET configuration sections) are rewritten to `__`, which .NET reads the same way.
 */
export function containerEnv(module: ModuleSpec, ctx: TranslationContext, warnings: Warnings): V1EnvVar[] {
  const merged = new Map<string, V1EnvVar>();
  const set = (name: string, value: string) => merged.set(name, { name, value });
  const injected = injectedEnv(module, ctx);
  const injectedNames = new Set(injected.map(([name]) => name));
  for (const [name, value] of module.env) {
    if (injectedNames.has(name)) {
      warnings.add(
        module,
        ["env", name],
        "is set by the runtime; the IoT Edge runtime refuses a module that sets it, edgek8s keeps the runtime's value",
      );
    } else set(name, value);
  }
  for (const [name, value] of DEFAULTED) if (!merged.has(name)) set(name, value);
  for (const [name, value] of injected) set(name, value);
  if (ctx.moduleIdentities === true) for (const variable of identityEnv(module)) merged.set(variable.name, variable);
  (module.createOptions.Env ?? []).forEach((entry, i) => {
    const [name, value] = splitEntry(entry);
    if (name === "") {
      warnings.addCreateOption(module, ["Env", i], `"${entry}" has no variable name; ignored`);
      return;
    }
    if (injectedNames.has(name) || merged.get(name)?.valueFrom !== undefined) {
      warnings.addCreateOption(module, ["Env", i], `overrides the value the runtime gives ${name}, as on IoT Edge`);
    }
    merged.delete(name);
    set(name, value);
  });
  const env: V1EnvVar[] = [];
  for (const variable of merged.values()) {
    const safeName = variable.name.replaceAll(":", "__");
    if (safeName !== variable.name) {
      warnings.add(
        module,
        ["env", variable.name],
        `environment variable renamed to ${safeName}: Kubernetes rejects ':' in names`,
      );
    }
    env.push(Object.assign({}, variable, { name: safeName }));
  }
  return env;
}
