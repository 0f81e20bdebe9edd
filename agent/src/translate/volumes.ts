import type { V1PersistentVolumeClaim, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { Managed, TranslationContext } from "./context.ts";
import { ANNOTATION, objectMeta } from "./labels.ts";
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

/** Pod volumes and container mounts for Binds, Mounts, Tmpfs, Volumes, ShmSize and `k8s-experimental.volumes`. */
export function podVolumes(module: ModuleSpec, ctx: TranslationContext): PodVolumes {
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  let needsRecreate = false;
  module.mounts.forEach((mount, index) => {
    const name = `${mount.kind === "hostPath" ? "host" : mount.kind === "volume" ? "data" : "scratch"}-${index}`;
    switch (mount.kind) {
      case "hostPath":
        volumes.push({ name, hostPath: { path: mount.source, type: "DirectoryOrCreate" } });
        mounts.push({ name, mountPath: mount.target, ...(mount.readOnly ? { readOnly: true } : {}) });
        break;
      case "volume":
        volumes.push({ name, persistentVolumeClaim: { claimName: claimName(mount.source) } });
        mounts.push({ name, mountPath: mount.target, ...(mount.readOnly ? { readOnly: true } : {}) });
        if (ctx.defaults.volumeAccessMode !== "ReadWriteMany") needsRecreate = true;
        break;
      case "tmpfs":
        volumes.push({
          name,
          emptyDir: { medium: "Memory", ...(mount.sizeBytes ? { sizeLimit: String(mount.sizeBytes) } : {}) },
        });
        mounts.push({ name, mountPath: mount.target });
        break;
      case "anonymous":
        volumes.push({ name, emptyDir: {} });
        mounts.push({ name, mountPath: mount.target });
        break;
    }
  });
  const shmSize = module.createOptions.HostConfig?.ShmSize;
  if (shmSize) {
    volumes.push({ name: "dshm", emptyDir: { medium: "Memory", sizeLimit: String(shmSize) } });
    mounts.push({ name: "dshm", mountPath: "/dev/shm" });
  }
  for (const extra of module.k8sExperimental.volumes ?? []) {
    volumes.push(extra.volume);
    const given = extra.volumeMounts ?? (extra.volumeMount ? [extra.volumeMount] : []);
    mounts.push(...(given as V1VolumeMount[]));
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
      if (mount.kind !== "volume" || claims.has(claimName(mount.source))) continue;
      const name = claimName(mount.source);
      claims.set(name, {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: objectMeta(
          ctx,
          module.k8sName,
          {
            [ANNOTATION.volumeSource]: mount.source,
            [ANNOTATION.pvcRetention]: module.k8sExperimental.pvcRetention ?? "Retain",
          },
          name,
        ),
        spec: {
          accessModes: [ctx.defaults.volumeAccessMode],
          resources: { requests: { storage: ctx.defaults.volumeSize } },
          ...(ctx.defaults.storageClassName ? { storageClassName: ctx.defaults.storageClassName } : {}),
        },
      });
    }
  }
  return [...claims.values()];
}
