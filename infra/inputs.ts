import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { type ConfigIssue, type StackConfig, parseStackConfig } from "./config.ts";
import { type DesiredDocuments, type ReadFile, loadManifests } from "./manifests.ts";

/** Everything the program needs, read and validated before any resource is declared. */
export interface StackInputs {
  readonly config: StackConfig;
  /** kubeconfig document per cluster name. */
  readonly kubeconfigs: Readonly<Record<string, string>>;
  readonly manifests: ReadonlyMap<string, DesiredDocuments>;
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
  const manifests = loadManifests(config, (path) => read(isAbsolute(path) ? path : join(root, path)));
  if (!manifests.ok) issues.push(...manifests.issues);
  if (issues.length > 0 || !manifests.ok) return { ok: false, issues };
  return { ok: true, inputs: { config, kubeconfigs, manifests: manifests.manifests } };
}
