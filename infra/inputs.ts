import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { type ModulesContent, type RolloutPlan, limitsProblems, parseRolloutPlan } from "@edgek8s/agent";
import { type ConfigIssue, type StackConfig, parseStackConfig } from "./config.ts";
import { type DesiredDocuments, type ReadFile, loadManifests, loadTrackManifests } from "./manifests.ts";

/** Everything the program needs, read and validated before any resource is declared. */
export interface StackInputs {
  readonly config: StackConfig;
  /** kubeconfig document per cluster name. */
  readonly kubeconfigs: Readonly<Record<string, string>>;
  readonly manifests: ReadonlyMap<string, DesiredDocuments>;
  /** Each track's `modulesContent`. */
  readonly tracks: ReadonlyMap<string, ModulesContent>;
  readonly plan: RolloutPlan;
  /** `<project>.<stack>`: the `edgek8s.stack` label of this stack's releases. */
  readonly stackId: string;
  /** What the limits policy warns about (nothing that stops the update). */
  readonly warnings: readonly ConfigIssue[];
}

/**
 * IoT Hub's limits at preview (ROLLOUT.md §B6; agent `limitsProblems`): errors stop the update with
 * every problem listed, warnings are printed.
 */
export function checkLimits(
  config: StackConfig,
  tracks: ReadonlyMap<string, ModulesContent>,
  plan: RolloutPlan,
  stackId: string,
): { errors: ConfigIssue[]; warnings: ConfigIssue[] } {
  const problems = limitsProblems({
    tracks: Object.entries(config.tracks)
      .filter(([name]) => tracks.has(name))
      .map(([name, t]) => ({ name, ...t, modulesContent: tracks.get(name)! })),
    devices: Object.entries(config.devices).map(([deviceId, d]) => ({
      deviceId,
      tags: d.tags ?? {},
      ownManifest: d.manifest !== undefined,
    })),
    ...(config.hub.mode === "azure" ? { hub: { sku: config.hub.sku, units: config.hub.capacity } } : {}),
    plan,
    stackLabel: stackId,
  });
  const issue = (p: (typeof problems)[number]): ConfigIssue => ({ key: p.key, message: p.message });
  return {
    errors: problems.filter((p) => p.severity === "error").map(issue),
    warnings: problems.filter((p) => p.severity === "warning").map(issue),
  };
}

/** The kubeconfig file for a cluster: as configured (relative to the project root), else $KUBECONFIG, else ~/.kube/config. */
export function kubeconfigPath(
  cluster: StackConfig["clusters"][string],
  root: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (cluster.kubeconfig !== undefined)
    return isAbsolute(cluster.kubeconfig) ? cluster.kubeconfig : join(root, cluster.kubeconfig);
  const fromEnv = env["KUBECONFIG"]?.split(":").find((p) => p !== "");
  return fromEnv ?? join(env["HOME"] ?? homedir(), ".kube", "config");
}

export function loadStackInputs(
  values: Readonly<Record<string, unknown>>,
  root: string,
  read: ReadFile,
  env: Readonly<Record<string, string | undefined>>,
  stackId = "edgek8s.test",
): { ok: true; inputs: StackInputs } | { ok: false; issues: ConfigIssue[] } {
  const parsed = parseStackConfig(values);
  if (!parsed.config) return { ok: false, issues: parsed.ok ? [] : parsed.issues };
  const config = parsed.config;
  const issues: ConfigIssue[] = parsed.ok ? [] : [...parsed.issues];
  const kubeconfigs: Record<string, string> = {};
  for (const [name, cluster] of Object.entries(config.clusters)) {
    const path = kubeconfigPath(cluster, root, env);
    const text = read(path);
    if (text === undefined) {
      issues.push({
        key: `edgek8s:clusters.${name}.kubeconfig`,
        message:
          `${path} does not exist` +
          (cluster.kubeconfig === undefined
            ? " (no kubeconfig configured; looked at $KUBECONFIG and ~/.kube/config)"
            : "") +
          (name === "local" ? "; start the local cluster with `npm run cluster:up` or run `npm run local`" : ""),
      });
    } else {
      kubeconfigs[name] = text;
    }
  }
  const fromRoot = (path: string) => read(isAbsolute(path) ? path : join(root, path));
  const manifests = loadManifests(config, fromRoot);
  if (!manifests.ok) issues.push(...manifests.issues);
  const tracks = loadTrackManifests(config, fromRoot);
  if (!tracks.ok) issues.push(...tracks.issues);
  const plan = parseRolloutPlan(config.rollout);
  // The limits need every track's content and a valid plan; they are checked even when other keys
  // are wrong, so one preview lists every problem.
  const limits = tracks.ok && plan.ok ? checkLimits(config, tracks.tracks, plan.plan, stackId) : undefined;
  issues.push(...(limits?.errors ?? []));
  if (!limits || !plan.ok || issues.length > 0 || !manifests.ok || !tracks.ok) return { ok: false, issues };
  return {
    ok: true,
    inputs: {
      config,
      kubeconfigs,
      manifests: manifests.manifests,
      tracks: tracks.tracks,
      plan: plan.plan,
      stackId,
      warnings: limits.warnings,
    },
  };
}
