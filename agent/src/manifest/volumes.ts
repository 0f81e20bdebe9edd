import type { DockerBody } from "./docker/body.ts";
import type { JsonPath } from "./issues.ts";

/** Kubernetes' mount propagation for Docker's bind propagation modes. */
export type Propagation = "None" | "HostToContainer" | "Bidirectional";

/**
 * A mount of the module container, from any of Docker's ways to say it (`HostConfig.Binds`,
 * `HostConfig.Mounts`, `HostConfig.Tmpfs`, `HostConfig.Devices`, top-level `Volumes`):
 * - hostPath: a host file, directory, socket or device bound in (Docker creates a missing source
 *   directory for Binds; the container runtime under the kubelet does the same);
 * - volume: a named Docker volume, which becomes a PersistentVolumeClaim named after `source`;
 * - tmpfs: memory-backed scratch space;
 * - anonymous: a Docker anonymous volume (see translate/volumes.ts for what it becomes);
 * - device: a host device node (`Devices`).
 */
export type VolumeMountSpec =
  | {
      readonly kind: "hostPath";
      readonly source: string;
      readonly target: string;
      readonly readOnly: boolean;
      readonly propagation: Propagation;
      readonly at: JsonPath;
    }
  | {
      readonly kind: "volume";
      readonly source: string;
      readonly target: string;
      readonly readOnly: boolean;
      readonly subPath: string | undefined;
      readonly at: JsonPath;
    }
  | { readonly kind: "tmpfs"; readonly target: string; readonly sizeBytes: number | undefined; readonly at: JsonPath }
  | { readonly kind: "anonymous"; readonly target: string; readonly at: JsonPath }
  | {
      readonly kind: "device";
      readonly source: string;
      readonly target: string;
      readonly permissions: string;
      /** False when a bind already puts the host's node at the target (Docker allows both). */
      readonly mounted: boolean;
      readonly at: JsonPath;
    };

export interface MountFindings {
  issue(path: JsonPath, message: string): void;
  warning(path: JsonPath, message: string): void;
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Docker tmpfs options, e.g. `"rw,noexec,size=64m"` → 67108864. */
export function tmpfsSize(options: string): number | undefined {
  const match = /(?:^|,)size=(\d+)([kmg]?)(?:,|$)/i.exec(options);
  if (!match) return undefined;
  return Number(match[1]) * (SIZE_UNITS[(match[2] ?? "").toLowerCase()] ?? 1);
}

const PROPAGATION: Record<string, Propagation> = {
  private: "None",
  rprivate: "None",
  slave: "HostToContainer",
  rslave: "HostToContainer",
  shared: "Bidirectional",
  rshared: "Bidirectional",
};
/** Docker's named-volume names (daemon/names.go RestrictedNamePattern). */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const WINDOWS_PATH = /^([a-zA-Z]:[\\/]|\\\\)/;

const WINDOWS_MESSAGE =
  "is a Windows host path: Kubernetes runs these modules on Linux nodes, where it does not exist (Docker on Linux refuses it too)";

/** Records a problem; undefined, so `return refuse(…)` ends a parse. */
function refuse(found: MountFindings, path: JsonPath, message: string): VolumeMountSpec | undefined {
  found.issue(path, message);
  return undefined;
}

/** Splits `source:target[:options]`, keeping a Windows drive letter (`C:/data`) in the source so it can be named. */
function splitBind(bind: string): string[] {
  const drive = /^[a-zA-Z]:[\\/]/.exec(bind);
  if (!drive) return bind.split(":");
  const rest = bind.slice(2).split(":");
  return [`${bind.slice(0, 2)}${rest[0] ?? ""}`, ...rest.slice(1)];
}

/** Parses a bind `"source:target[:options]"` as Docker does (a source without `/` is a named volume). */
function parseBind(bind: string, at: JsonPath, found: MountFindings): VolumeMountSpec | undefined {
  const parts = splitBind(bind);
  const [source = "", target = "", options = ""] = parts;
  if (WINDOWS_PATH.test(source)) return refuse(found, at, `"${bind}": ${WINDOWS_MESSAGE}`);
  if (parts.length < 2 || parts.length > 3 || source === "" || target === "") {
    return refuse(found, at, `"${bind}" is not a bind: expected "<host path or volume>:<container path>[:options]"`);
  }
  if (!target.startsWith("/")) return refuse(found, at, `container path "${target}" must be absolute`);
  let readOnly = false;
  let propagation: Propagation = "None";
  for (const option of options.split(",").filter((o) => o !== "")) {
    if (option === "ro" || option === "rw") readOnly = option === "ro";
    else if (option in PROPAGATION) propagation = PROPAGATION[option]!;
    else if (option === "z" || option === "Z") {
      found.warning(
        at,
        `"${option}" (SELinux relabelling) has no Kubernetes equivalent; the pod's SELinux context applies`,
      );
    } else if (!["nocopy", "consistent", "cached", "delegated"].includes(option)) {
      return refuse(
        found,
        at,
        `"${bind}" has an unknown option "${option}" (Docker knows ro, rw, z, Z, nocopy and the propagation modes)`,
      );
    }
  }
  if (source.startsWith("/")) return { kind: "hostPath", source, target, readOnly, propagation, at };
  if (!VOLUME_NAME.test(source)) {
    return refuse(
      found,
      at,
      `"${source}" is neither an absolute host path nor a Docker volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+), as Docker requires`,
    );
  }
  return { kind: "volume", source, target, readOnly, subPath: undefined, at };
}

type Mount = NonNullable<NonNullable<DockerBody["HostConfig"]>["Mounts"]>[number];

function parseMount(mount: Mount, at: JsonPath, found: MountFindings): VolumeMountSpec | undefined {
  const target = mount.Target ?? "";
  const source = mount.Source ?? "";
  if (!target.startsWith("/")) return refuse(found, [...at, "Target"], `container path "${target}" must be absolute`);
  const readOnly = mount.ReadOnly ?? false;
  switch (mount.Type) {
    case undefined:
      return refuse(found, [...at, "Type"], "is required (bind, volume or tmpfs)");
    case "tmpfs":
      return { kind: "tmpfs", target, sizeBytes: mount.TmpfsOptions?.SizeBytes, at };
    case "bind": {
      if (WINDOWS_PATH.test(source)) return refuse(found, [...at, "Source"], `"${source}" ${WINDOWS_MESSAGE}`);
      if (!source.startsWith("/"))
        return refuse(found, [...at, "Source"], "must be an absolute host path for a bind mount");
      const mode = mount.BindOptions?.Propagation;
      return { kind: "hostPath", source, target, readOnly, propagation: mode ? PROPAGATION[mode]! : "None", at };
    }
    case "volume":
      // A volume mount without a source is an anonymous volume (Docker's mount.Mount semantics).
      if (source === "") return { kind: "anonymous", target, at };
      if (!VOLUME_NAME.test(source)) {
        return refuse(found, [...at, "Source"], `"${source}" is not a Docker volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)`);
      }
      return { kind: "volume", source, target, readOnly, subPath: mount.VolumeOptions?.Subpath, at };
    case "npipe":
      return refuse(
        found,
        [...at, "Type"],
        "npipe mounts are for Windows containers; Kubernetes runs these modules on Linux",
      );
    case "cluster":
      return refuse(
        found,
        [...at, "Type"],
        "cluster volumes are a Docker Swarm feature with no Kubernetes equivalent here",
      );
  }
}

function normalTarget(target: string): string {
  return target.replace(/\/+$/, "") || "/";
}

/** Every mount of the module, with its JSON path; problems Docker would refuse are issues. */
export function collectMounts(body: DockerBody, base: JsonPath, found: MountFindings): VolumeMountSpec[] {
  const mounts: VolumeMountSpec[] = [];
  const host = body.HostConfig ?? {};
  const push = (mount: VolumeMountSpec | undefined) => {
    if (mount) mounts.push(mount);
  };
  (host.Binds ?? []).forEach((bind, i) => {
    push(parseBind(bind, [...base, "HostConfig", "Binds", i], found));
  });
  (host.Mounts ?? []).forEach((mount, i) => {
    push(parseMount(mount, [...base, "HostConfig", "Mounts", i], found));
  });
  for (const [target, options] of Object.entries(host.Tmpfs ?? {})) {
    push({ kind: "tmpfs", target, sizeBytes: tmpfsSize(options), at: [...base, "HostConfig", "Tmpfs", target] });
  }
  for (const target of Object.keys(body.Volumes ?? {})) {
    if (!mounts.some((m) => m.target === target)) push({ kind: "anonymous", target, at: [...base, "Volumes", target] });
  }
  const seen = new Set<string>();
  for (const mount of mounts) {
    const target = normalTarget(mount.target);
    if (seen.has(target)) {
      found.issue(mount.at, `two mounts target "${mount.target}" (Docker refuses a duplicate mount point)`);
    }
    seen.add(target);
  }
  // Devices are not mounts to Docker: a device node at a path a bind already covers is that bind.
  (host.Devices ?? []).forEach((device, i) => {
    const at = [...base, "HostConfig", "Devices", i];
    const source = device.PathOnHost ?? "";
    if (!source.startsWith("/")) {
      found.issue([...at, "PathOnHost"], "must be an absolute host path");
      return;
    }
    const target =
      device.PathInContainer === undefined || device.PathInContainer === "" ? source : device.PathInContainer;
    const mounted = !seen.has(normalTarget(target));
    seen.add(normalTarget(target));
    mounts.push({ kind: "device", source, target, permissions: device.CgroupPermissions ?? "rwm", mounted, at });
  });
  return mounts;
}
