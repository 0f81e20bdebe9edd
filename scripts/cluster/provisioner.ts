// A volume provisioner for the local cluster, which has no storage driver: it makes the default
// StorageClass `edgek8s-local` and, for each claim of that class waiting for a volume, a hostPath
// PersistentVolume bound to it (kwok's pods never mount it). Runs until it is stopped.
//   node scripts/cluster/provisioner.ts --kubeconfig PATH
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeClient, type KubeObject, type ResourceType, clusterConfigFromYaml } from "../../agent/src/kube/index.ts";

export const STORAGE_CLASS = "edgek8s-local";
export const PROVISIONER = "edgek8s.io/local-volume";
const FIELD_MANAGER = "edgek8s-local-provisioner";

const STORAGE_CLASSES: ResourceType = {
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  plural: "storageclasses",
  namespaced: false,
};
const VOLUMES: ResourceType = {
  apiVersion: "v1",
  kind: "PersistentVolume",
  plural: "persistentvolumes",
  namespaced: false,
};
const CLAIMS: ResourceType = {
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  plural: "persistentvolumeclaims",
  namespaced: true,
};

type Claim = KubeObject & {
  spec?: {
    storageClassName?: string;
    volumeName?: string;
    accessModes?: string[];
    resources?: { requests?: { storage?: string } };
  };
  status?: { phase?: string };
};

/** The volume for a claim waiting on this provisioner, or undefined when the claim is not ours or is bound. */
export function volumeFor(claim: Claim): KubeObject | undefined {
  const { metadata, spec, status } = claim;
  if (!metadata?.uid || !metadata.name || !metadata.namespace) return undefined;
  if (spec?.storageClassName !== STORAGE_CLASS || spec.volumeName || status?.phase !== "Pending") return undefined;
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: `pvc-${metadata.uid}`, annotations: { "pv.kubernetes.io/provisioned-by": PROVISIONER } },
    spec: {
      storageClassName: STORAGE_CLASS,
      capacity: { storage: spec.resources?.requests?.storage ?? "1Gi" },
      accessModes: spec.accessModes ?? ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      hostPath: { path: `/var/lib/edgek8s-local/${metadata.namespace}/${metadata.name}` },
      claimRef: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: metadata.namespace,
        name: metadata.name,
        uid: metadata.uid,
      },
    },
  };
}

async function run(client: KubeClient): Promise<never> {
  await client.apply(
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: STORAGE_CLASS, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: PROVISIONER,
      reclaimPolicy: "Delete",
      volumeBindingMode: "Immediate",
    },
    FIELD_MANAGER,
    undefined,
    STORAGE_CLASSES,
  );
  console.log(`storage class ${STORAGE_CLASS} ready`);
  for (;;) {
    try {
      const claims = await client.list<Claim>(CLAIMS);
      for (const claim of claims.items) {
        const volume = volumeFor(claim);
        if (!volume?.metadata?.name || (await client.get(VOLUMES, undefined, volume.metadata.name))) continue;
        await client.apply(volume, FIELD_MANAGER, undefined, VOLUMES);
        console.log(
          `volume ${volume.metadata.name} for ${claim.metadata?.namespace ?? ""}/${claim.metadata?.name ?? ""}`,
        );
      }
      // Released volumes of deleted claims: nothing real to reclaim, so remove them.
      const volumes = await client.list<KubeObject & { status?: { phase?: string } }>(VOLUMES);
      for (const volume of volumes.items) {
        if (
          volume.status?.phase === "Released" &&
          volume.metadata?.annotations?.["pv.kubernetes.io/provisioned-by"] === PROVISIONER
        )
          await client.delete(VOLUMES, undefined, volume.metadata.name ?? "");
      }
    } catch (error) {
      console.error(`provisioner: ${(error as Error).message}`);
    }
    await sleep(500);
  }
}

if (import.meta.main) {
  const at = process.argv.indexOf("--kubeconfig");
  const path = process.argv[at + 1];
  if (at < 0 || !path) {
    console.error("usage: node scripts/cluster/provisioner.ts --kubeconfig PATH");
    process.exit(2);
  }
  await run(new KubeClient(clusterConfigFromYaml(readFileSync(path, "utf8"), dirname(path))));
}
