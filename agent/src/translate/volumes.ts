import type {
  V1PersistentVolumeClaim,
  V1PersistentVolumeClaimSpec,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import type { Managed, TranslationContext } from "./context.ts";
import { ANNOTATION, objectMeta } from "./labels.ts";
import { hasDevicePluginResource } from "./resources.ts";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";
import { k8sName } from "../naming/k8sName.ts";

export interface PodVolumes {
  readonly volumes: V1Volume[];
  readonly mounts: V1VolumeMount[];
  /** True when the pod mounts a claim only one node can attach: RollingUpdate would deadlock. */
  readonly needsRecreate: boolean;
}

export function claimName(source: string): string {
  return k8sName(source);
}

const SINGLE_NODE_MODES = new Set(["ReadWriteOnce", "ReadWriteOncePod"]);

/** The claim a Docker volume becomes: the agent's defaults, then the module's k8s-experimental.persistentVolumeClaims. */
export function claimSpec(source: string, module: ModuleSpec, ctx: TranslationContext): V1PersistentVolumeClaimSpec {
  const given = module.k8sExperimental.persistentVolumeClaims?.[source] ?? {};
  const defaults = ctx.defaults;
  const base: V1PersistentVolumeClaimSpec = {
    accessModes: [defaults.volumeAccessMode],
    resources: { requests: { storage: defaults.volumeSize } },
    ...(defaults.storageClassName !== undefined ? { storageClassName: defaults.storageClassName } : {}),
    ...(defaults.volumeNameFromSource ? { volumeName: claimName(source) } : {}),
  };
  return Object.assign(base, given);
}

/**
 * Pod volumes and container mounts for Binds, Mounts, Tmpfs, Devices, Volumes, ShmSize and
 * `k8s-experimental.volumes`:
 * - host paths are bound as they are (files, sockets, devices and directories; no type check, so
 *   the container runtime creates a missing directory as Docker does for Binds), with Docker's bind
 *   propagation as mountPropagation;
 * - an anonymous volume is not mounted: Docker fills a new one with the image's files at that path,
 *   which an empty Kubernetes volume would hide, so the image's files stay visible (reported);
 * - ShmSize sizes a memory-backed /dev/shm, unless the module shares the host's IPC (`IpcMode: host`),
 *   which keeps the host's /dev/shm as Docker does.
 */
export function podVolumes(
  module: ModuleSpec,
  ctx: TranslationContext,
  warnings: Warnings,
  privileged: boolean,
): PodVolumes {
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  let needsRecreate = false;
  const readOnly = (flag: boolean) => (flag ? { readOnly: true } : {});
  module.mounts.forEach((mount, index) => {
    switch (mount.kind) {
      case "hostPath": {
        const name = `host-${index}`;
        let propagation = mount.propagation;
        if (propagation === "Bidirectional" && !privileged) {
          warnings.at(
            mount.at,
            "shared propagation needs a privileged container on Kubernetes; the mount receives host mounts only (rslave)",
          );
          propagation = "HostToContainer";
        }
        volumes.push({ name, hostPath: { path: mount.source } });
        mounts.push({
          name,
          mountPath: mount.target,
          ...readOnly(mount.readOnly),
          ...(propagation !== "None" ? { mountPropagation: propagation } : {}),
        });
        break;
      }
      case "device": {
        const name = `device-${index}`;
        if (mount.mounted) {
          volumes.push({ name, hostPath: { path: mount.source } });
          mounts.push({ name, mountPath: mount.target });
        }
        if (!privileged && !hasDevicePluginResource(module)) {
          warnings.at(
            mount.at,
            "the device node is mounted, but only a privileged container may open it; set Privileged or request the device through a device plugin (k8s-experimental.resources)",
          );
        }
        break;
      }
      case "volume": {
        const name = `data-${index}`;
        volumes.push({ name, persistentVolumeClaim: { claimName: claimName(mount.source) } });
        mounts.push({
          name,
          mountPath: mount.target,
          ...readOnly(mount.readOnly),
          ...(mount.subPath ? { subPath: mount.subPath } : {}),
        });
        const modes = claimSpec(mount.source, module, ctx).accessModes ?? [];
        if (modes.some((m) => SINGLE_NODE_MODES.has(m))) needsRecreate = true;
        break;
      }
      case "tmpfs": {
        const name = `scratch-${index}`;
        volumes.push({
          name,
          emptyDir: { medium: "Memory", ...(mount.sizeBytes ? { sizeLimit: String(mount.sizeBytes) } : {}) },
        });
        mounts.push({ name, mountPath: mount.target });
        break;
      }
      case "anonymous":
        warnings.at(
          mount.at,
          "an anonymous volume is not mounted, so the image's own files at this path stay visible (Docker copies them into the new volume); what the module writes there lasts as long as its container",
        );
        break;
    }
  });
  const host = module.createOptions.HostConfig ?? {};
  if (host.ShmSize && host.IpcMode?.toLowerCase() !== "host") {
    volumes.push({ name: "dshm", emptyDir: { medium: "Memory", sizeLimit: String(host.ShmSize) } });
    mounts.push({ name: "dshm", mountPath: "/dev/shm" });
  }
  for (const extra of module.k8sExperimental.volumes ?? []) {
    if (extra.volume) volumes.push(extra.volume);
    mounts.push(...(extra.volumeMounts ?? []), ...(extra.volumeMount ? [extra.volumeMount] : []));
  }
  return { volumes, mounts, needsRecreate };
}

/**
 * One claim per Docker volume name on the device, shared by every module that mounts it (as Docker
 * shares named volumes). Labelled with the first module that mounts it, in name order.
 */
export function persistentVolumeClaims(
  modules: readonly ModuleSpec[],
  ctx: TranslationContext,
): Managed<V1PersistentVolumeClaim>[] {
  const claims = new Map<string, Managed<V1PersistentVolumeClaim>>();
  for (const module of modules) {
    for (const mount of module.mounts) {
      if (mount.kind !== "volume") continue;
      const name = claimName(mount.source);
      const given = module.k8sExperimental.persistentVolumeClaims?.[mount.source];
      const existing = claims.get(name);
      if (existing && !given) continue;
      claims.set(name, {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata:
          existing?.metadata ??
          objectMeta(
            ctx,
            module.k8sName,
            {
              [ANNOTATION.volumeSource]: mount.source,
              [ANNOTATION.pvcRetention]: module.k8sExperimental.pvcRetention ?? "Retain",
            },
            name,
          ),
        spec: claimSpec(mount.source, module, ctx),
      });
    }
  }
  return [...claims.values()];
}
