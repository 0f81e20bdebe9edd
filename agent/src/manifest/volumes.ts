import type { CreateOptions } from "./createOptions.ts";
import { type JsonPath, type ManifestIssue, issue } from "./issues.ts";

/**
 * A mount of the module container, from any of Docker's four ways to say it
 * (`HostConfig.Binds`, `HostConfig.Mounts`, `HostConfig.Tmpfs`, top-level `Volumes`).
 * - hostPath: a bind of a host directory;
 * - volume: a named Docker volume, which becomes a PersistentVolumeClaim named after `source`;
 * - tmpfs: memory-backed scratch space;
 * - anonymous: a Docker anonymous volume, which lives as long as the pod (emptyDir).
 */
export type VolumeMountSpec =
  | { readonly kind: "hostPath"; readonly source: string; readonly target: string; readonly readOnly: boolean }
  | { readonly kind: "volume"; readonly source: string; readonly target: string; readonly readOnly: boolean }
  | { readonly kind: "tmpfs"; readonly target: string; readonly sizeBytes: number | undefined }
  | { readonly kind: "anonymous"; readonly target: string };

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Docker tmpfs options, e.g. `"rw,noexec,size=64m"` → 67108864. */
export function tmpfsSize(options: string): number | undefined {
  const match = /(?:^|,)size=(\d+)([kmg]?)(?:,|$)/i.exec(options);
  if (!match) return undefined;
  return Number(match[1]) * (SIZE_UNITS[(match[2] ?? "").toLowerCase()] ?? 1);
}

/** Parses a bind `"source:target[:options]"`; a source without `/` is a named volume. */
function parseBind(bind: string, path: JsonPath): VolumeMountSpec | ManifestIssue {
  const parts = bind.split(":");
  const [source, target, options = ""] = parts;
  if (parts.length < 2 || parts.length > 3 || !source || !target) {
    return issue(path, `"${bind}" is not a bind: expected "<host path or volume>:<container path>[:ro|rw]"`);
  }
  if (!target.startsWith("/")) return issue(path, `container path "${target}" must be absolute`);
  const readOnly = options.split(",").includes("ro");
  return source.startsWith("/")
    ? { kind: "hostPath", source, target, readOnly }
    : { kind: "volume", source, target, readOnly };
}

export function collectMounts(
  createOptions: CreateOptions,
  base: JsonPath,
): { mounts: VolumeMountSpec[]; issues: ManifestIssue[] } {
  const mounts: VolumeMountSpec[] = [];
  const issues: ManifestIssue[] = [];
  const hostConfig = createOptions.HostConfig ?? {};
  (hostConfig.Binds ?? []).forEach((bind, i) => {
    const parsed = parseBind(bind, [...base, "HostConfig", "Binds", i]);
    if ("message" in parsed) issues.push(parsed);
    else mounts.push(parsed);
  });
  (hostConfig.Mounts ?? []).forEach((mount, i) => {
    const path = [...base, "HostConfig", "Mounts", i];
    const readOnly = mount.ReadOnly ?? false;
    if (!mount.Target.startsWith("/")) {
      issues.push(issue([...path, "Target"], `container path "${mount.Target}" must be absolute`));
    } else if (mount.Type === "tmpfs") {
      mounts.push({ kind: "tmpfs", target: mount.Target, sizeBytes: mount.TmpfsOptions?.SizeBytes });
    } else if (!mount.Source) {
      issues.push(issue([...path, "Source"], `is required for a ${mount.Type} mount`));
    } else if (mount.Type === "bind") {
      mounts.push({ kind: "hostPath", source: mount.Source, target: mount.Target, readOnly });
    } else {
      mounts.push({ kind: "volume", source: mount.Source, target: mount.Target, readOnly });
    }
  });
  for (const [target, options] of Object.entries(hostConfig.Tmpfs ?? {})) {
    mounts.push({ kind: "tmpfs", target, sizeBytes: tmpfsSize(options) });
  }
  for (const target of Object.keys(createOptions.Volumes ?? {})) {
    if (!mounts.some((m) => m.target === target)) mounts.push({ kind: "anonymous", target });
  }
  const seen = new Set<string>();
  for (const mount of mounts) {
    if (seen.has(mount.target)) issues.push(issue([...base, "HostConfig"], `two mounts target "${mount.target}"`));
    seen.add(mount.target);
  }
  return { mounts, issues };
}
