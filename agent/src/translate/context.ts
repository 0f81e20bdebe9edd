import type { V1ObjectMeta } from "@kubernetes/client-node";

export type { ServiceType } from "../manifest/k8s/experimental.ts";
import type { ServiceType } from "../manifest/k8s/experimental.ts";
export const VOLUME_ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] as const;
export type VolumeAccessMode = (typeof VOLUME_ACCESS_MODES)[number];

/** Settings the agent is started with that shape translation (the original's Helm `edgeAgent.env`). */
export interface TranslationDefaults {
  /** Service type for modules with `PortBindings` when `k8s-experimental.serviceOptions.type` is absent. */
  readonly serviceType: ServiceType;
  /** Size of a PersistentVolumeClaim made for a Docker volume (createOptions cannot say). */
  readonly volumeSize: string;
  /** The claims' storage class; "" asks for none (no dynamic provisioning), undefined for the cluster's default. */
  readonly storageClassName: string | undefined;
  readonly volumeAccessMode: VolumeAccessMode;
  /** Bind each claim to a pre-made PersistentVolume named like it (the original's useMountSourceForVolumeName). */
  readonly volumeNameFromSource: boolean;
  /** Nested IoT Edge: what `$upstream` in images stands for (the parent device's host name). */
  readonly parentHostname: string | undefined;
}

export const DEFAULT_TRANSLATION_DEFAULTS: TranslationDefaults = {
  serviceType: "ClusterIP",
  volumeSize: "1Gi",
  storageClassName: undefined,
  volumeAccessMode: "ReadWriteOnce",
  volumeNameFromSource: false,
  parentHostname: undefined,
};

/** The EdgeDeployment that owns every object made for it (set by the reconciler, absent in `render`). */
export interface Owner {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

export interface TranslationContext {
  readonly deviceId: string;
  readonly hubHostName: string;
  readonly namespace: string;
  readonly defaults: TranslationDefaults;
  readonly owner?: Owner | undefined;
  /** IoT Hub module generation ids by module id, when the hub bridge knows them. */
  readonly moduleGenerationIds?: Readonly<Record<string, string>> | undefined;
  /**
   * Hub mode: each module reads its IoT Hub identity (connection string, generation id) from the
   * Secret the hub bridge writes for it (see identitySecretName).
   */
  readonly moduleIdentities?: boolean | undefined;
}

/** Every object translation emits: a Kubernetes object with its kind, name and namespace set. */
export type Managed<T> = Omit<T, "apiVersion" | "kind" | "metadata"> & {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string; namespace: string };
};
