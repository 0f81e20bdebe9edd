import { isAbsolute, resolve } from "node:path";
import { targetConditionProblem } from "../releases/condition.ts";
import { type RolloutPlan, parseRolloutPlan } from "./plan.ts";

/**
 * What the rollout needs from a Pulumi stack, read through the Automation API (`LocalWorkspace.
 * selectStack`, `getAllConfig`, `outputs`), so the ring plan is the one `pulumi preview` validated and
 * the releases are the ones `pulumi up` made. The stack's secrets are never read into anything printed.
 */
export interface StackFacts {
  readonly project: string;
  readonly stack: string;
  /** `<project>.<stack>`: the `edgek8s.stack` label on the stack's releases. */
  readonly stackId: string;
  readonly hub:
    | {
        readonly mode: "azure";
        readonly hostName: string;
        readonly stagedTarget: string;
        readonly sku: string;
        readonly capacity: number;
      }
    | { readonly mode: "none" };
  readonly tracks: Readonly<Record<string, { readonly target: string; readonly layer: boolean }>>;
  readonly plan: RolloutPlan;
  /** Clusters by name, kubeconfig paths resolved against the project directory. */
  readonly clusters: Readonly<Record<string, { readonly kubeconfig?: string; readonly context?: string }>>;
}

export class StackError extends Error {
  override readonly name = "StackError";
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** `getAllConfig()` values are strings; objects and lists come as JSON text. */
function configValue(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The stack's facts from its config (`edgek8s:*` keys as `getAllConfig` gives them). Pure. Problems
 * name their key; the full validation is `pulumi preview`'s — this reads what the rollout uses.
 */
export function stackFacts(
  project: string,
  stack: string,
  config: Readonly<Record<string, string>>,
  projectDir: string,
): StackFacts {
  const value = (key: string) => configValue(config[`edgek8s:${key}`]);
  const hubRaw = value("hub");
  if (!isObject(hubRaw)) throw new StackError(`edgek8s:hub: not set in stack ${stack}`);
  const hub: StackFacts["hub"] =
    hubRaw["mode"] === "none"
      ? { mode: "none" }
      : {
          mode: "azure",
          hostName: `${String(hubRaw["name"])}.azure-devices.net`,
          stagedTarget: hubRaw["stagedTarget"] === "noDevice" ? "deviceId='edgek8s-none'" : "",
          sku: typeof hubRaw["sku"] === "string" ? hubRaw["sku"] : "S1",
          capacity: typeof hubRaw["capacity"] === "number" ? hubRaw["capacity"] : 1,
        };
  const tracksRaw = value("tracks") ?? {};
  if (!isObject(tracksRaw)) throw new StackError("edgek8s:tracks: expected an object of tracks");
  const tracks: Record<string, { target: string; layer: boolean }> = {};
  for (const [name, raw] of Object.entries(tracksRaw)) {
    const target = isObject(raw) ? raw["target"] : undefined;
    if (typeof target !== "string") throw new StackError(`edgek8s:tracks.${name}.target: expected a target condition`);
    const problem = targetConditionProblem(target);
    if (problem !== undefined) throw new StackError(`edgek8s:tracks.${name}.target: ${problem}`);
    tracks[name] = { target, layer: isObject(raw) && raw["layer"] === true };
  }
  const parsed = parseRolloutPlan(value("rollout"), "edgek8s:rollout", { hub: hub.mode === "azure" });
  if (!parsed.ok) throw new StackError(parsed.problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  const clustersRaw = value("clusters") ?? {};
  const clusters: Record<string, { kubeconfig?: string; context?: string }> = {};
  if (isObject(clustersRaw))
    for (const [name, raw] of Object.entries(clustersRaw)) {
      const c = isObject(raw) ? raw : {};
      const kubeconfig = typeof c["kubeconfig"] === "string" ? c["kubeconfig"] : undefined;
      clusters[name] = {
        ...(kubeconfig !== undefined
          ? { kubeconfig: isAbsolute(kubeconfig) ? kubeconfig : resolve(projectDir, kubeconfig) }
          : {}),
        ...(typeof c["context"] === "string" ? { context: c["context"] } : {}),
      };
    }
  return { project, stack, stackId: `${project}.${stack}`, hub, tracks, plan: parsed.plan, clusters };
}

export interface SelectedStack {
  readonly facts: StackFacts;
  /** `pulumi up` of the stack (`--start`), its output passed on line by line. */
  up(message: string, onOutput: (line: string) => void): Promise<void>;
}

/** Selects the stack in `projectDir` with the Pulumi CLI found on PATH, as `pulumi` itself would. */
export async function selectStack(stackName: string, projectDir: string): Promise<SelectedStack> {
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation/index.js").catch((error: unknown) => {
    throw new StackError(
      `edgek8s rollout reads the stack through the Pulumi Automation API: run it from the project checkout, where @pulumi/pulumi is installed (${firstLine(error)})`,
    );
  });
  let stack;
  try {
    stack = await LocalWorkspace.selectStack({ stackName, workDir: projectDir });
  } catch (error) {
    throw new StackError(`cannot select stack ${stackName} in ${projectDir}: ${firstLine(error)}`);
  }
  const project = (await stack.workspace.projectSettings()).name;
  const all = await stack.getAllConfig();
  const config = Object.fromEntries(Object.entries(all).map(([key, v]) => [key, v.value]));
  return {
    facts: stackFacts(project, stackName, config, projectDir),
    up: async (message, onOutput) => {
      await stack.up({
        message,
        onOutput: (out: string) => {
          for (const line of out.split("\n")) if (line !== "") onOutput(line);
        },
      });
    },
  };
}

/** The line of a Pulumi error worth printing: its `error:` line (a CommandError starts with "code: 255"), else its first. */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // A CommandError's stderr starts on its " stderr: " line.
  const lines = text.split("\n").map((l) => l.trim().replace(/^(?:stdout|stderr): /, ""));
  return lines.find((l) => /^error:/i.test(l)) ?? lines.find((l) => l !== "") ?? text;
}
