import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export type Tool =
  | "etcd"
  | "kube-apiserver"
  | "kube-controller-manager"
  | "kube-scheduler"
  | "kubectl"
  | "kwok"
  | "helm"
  | "pulumi"
  | "kubelet"
  | "kube-proxy"
  | "coredns";

export function cacheDir(): string {
  return process.env["EDGEK8S_CACHE"] ?? join(homedir(), ".cache", "edgek8s");
}

/** Absolute path of a tool built by `scripts/tools`; a clear error (never a skip) when it is missing. */
export function toolPath(tool: Tool): string {
  const path = join(cacheDir(), "tools", "bin", tool);
  if (!existsSync(path)) {
    throw new Error(`${tool} is not built: run scripts/tools (looked for ${path})`);
  }
  return path;
}
