import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";

/** Where and how to reach the API server: what the agent needs of a kubeconfig. */
export interface ClusterConfig {
  readonly server: string;
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly insecureSkipTlsVerify?: boolean;
  /** A bearer token, or a file to read it from on every request (projected tokens rotate). */
  readonly token?: string | undefined;
  readonly tokenFile?: string | undefined;
}

export const IN_CLUSTER_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

interface Named<T> {
  name: string;
  cluster?: T;
  user?: T;
  context?: T;
}

type Entry = Record<string, unknown>;

function fileOrData(entry: Entry, fileKey: string, dataKey: string, base: string): Buffer | undefined {
  const data = entry[dataKey];
  if (typeof data === "string") return Buffer.from(data, "base64");
  const file = entry[fileKey];
  if (typeof file === "string") return readFileSync(isAbsolute(file) ? file : join(base, file));
  return undefined;
}

/** Reads a kubeconfig document (its current context); `base` resolves relative file paths. */
export function clusterConfigFromYaml(text: string, base: string, context?: string): ClusterConfig {
  const doc = parse(text) as {
    "current-context"?: string;
    contexts?: Named<Entry>[];
    clusters?: Named<Entry>[];
    users?: Named<Entry>[];
  } | null;
  const name = context ?? doc?.["current-context"];
  const ctx = doc?.contexts?.find((c) => c.name === name)?.context;
  if (!ctx) throw new Error(`kubeconfig: context "${name ?? ""}" not found`);
  const cluster = doc.clusters?.find((c) => c.name === ctx["cluster"])?.cluster;
  if (!cluster || typeof cluster["server"] !== "string")
    throw new Error(`kubeconfig: cluster "${String(ctx["cluster"])}" has no server`);
  const user = doc.users?.find((u) => u.name === ctx["user"])?.user ?? {};
  if (user["exec"] !== undefined || user["auth-provider"] !== undefined) {
    throw new Error(
      `kubeconfig: user "${String(ctx["user"])}" uses an exec or auth-provider plugin, which the agent does not run; use a token or client certificate`,
    );
  }
  const tokenFile = typeof user["tokenFile"] === "string" ? user["tokenFile"] : undefined;
  return {
    server: cluster["server"],
    ca: fileOrData(cluster, "certificate-authority", "certificate-authority-data", base),
    cert: fileOrData(user, "client-certificate", "client-certificate-data", base),
    key: fileOrData(user, "client-key", "client-key-data", base),
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    token: typeof user["token"] === "string" ? user["token"] : undefined,
    tokenFile: tokenFile && !isAbsolute(tokenFile) ? join(base, tokenFile) : tokenFile,
  };
}

export function clusterConfigFromFile(path: string, context?: string): ClusterConfig {
  return clusterConfigFromYaml(readFileSync(path, "utf8"), dirname(path), context);
}

/** The pod's own ServiceAccount, when running in a cluster. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = IN_CLUSTER_DIR): ClusterConfig | undefined {
  const host = env["KUBERNETES_SERVICE_HOST"];
  const port = env["KUBERNETES_SERVICE_PORT"];
  if (!host || !port || !existsSync(join(dir, "token"))) return undefined;
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(dir, "ca.crt")),
    tokenFile: join(dir, "token"),
  };
}

/** `--kubeconfig`, else in-cluster, else $KUBECONFIG (first file), else ~/.kube/config. */
export function loadClusterConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  if (path !== undefined) return clusterConfigFromFile(path);
  const inCluster = inClusterConfig(env);
  if (inCluster) return inCluster;
  const fromEnv = env["KUBECONFIG"]?.split(":").find((p) => p !== "" && existsSync(p));
  const fallback = join(env["HOME"] ?? homedir(), ".kube", "config");
  const file = fromEnv ?? (existsSync(fallback) ? fallback : undefined);
  if (!file) throw new Error("no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG or run in a pod");
  return clusterConfigFromFile(file);
}
