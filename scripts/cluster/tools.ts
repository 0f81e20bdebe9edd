import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Each binary `scripts/tools` builds, with the tool (and so the pinned version) it belongs to. */
const TOOLS = {
  etcd: ["etcd", "ETCD_VERSION"],
  "kube-apiserver": ["kubernetes", "KUBERNETES_VERSION"],
  "kube-controller-manager": ["kubernetes", "KUBERNETES_VERSION"],
  "kube-scheduler": ["kubernetes", "KUBERNETES_VERSION"],
  kubectl: ["kubernetes", "KUBERNETES_VERSION"],
  kwok: ["kwok", "KWOK_VERSION"],
  helm: ["helm", "HELM_VERSION"],
  pulumi: ["pulumi", "PULUMI_VERSION"],
  "pulumi-resource-kubernetes": ["pulumi-kubernetes", "PULUMI_KUBERNETES_VERSION"],
  kubelet: ["kubelet", "KUBERNETES_VERSION"],
  "kube-proxy": ["kubelet", "KUBERNETES_VERSION"],
  coredns: ["coredns", "COREDNS_VERSION"],
} as const;

export type Tool = keyof typeof TOOLS;

export function cacheDir(): string {
  return process.env["EDGEK8S_CACHE"] ?? join(homedir(), ".cache", "edgek8s");
}

let pinned: Readonly<Record<string, string>> | undefined;
/** The `KEY=VALUE` lines of scripts/versions.env: the one place tool versions are set. */
export function pinnedVersions(): Readonly<Record<string, string>> {
  pinned ??= Object.fromEntries(
    readFileSync(new URL("../versions.env", import.meta.url), "utf8")
      .split("\n")
      .map((line) => /^([A-Z0-9_]+)=(\S+)$/.exec(line.trim()))
      .filter((match) => match !== null)
      .map((match) => [match[1], match[2]]),
  ) as Record<string, string>;
  return pinned;
}

/**
 * Absolute path of a tool built by `scripts/tools`, at the version this checkout pins (so checkouts
 * pinning other versions can share the cache); a clear error (never a skip) when it is missing.
 */
export function toolPath(tool: Tool): string {
  const [name, key] = TOOLS[tool];
  const version = pinnedVersions()[key];
  if (version === undefined) throw new Error(`scripts/versions.env has no ${key}`);
  const path = join(cacheDir(), "tools", `${name}-${version}`, "bin", tool);
  if (!existsSync(path)) {
    throw new Error(`${tool} ${version} is not built: run scripts/tools ${name} (looked for ${path})`);
  }
  return path;
}
