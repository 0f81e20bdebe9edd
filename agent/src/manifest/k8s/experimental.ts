import type {
  V1Affinity,
  V1DeploymentStrategy,
  V1PersistentVolumeClaimSpec,
  V1PodSecurityContext,
  V1ResourceRequirements,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { t } from "../shape/shape.ts";

/** The section of createOptions the original IoT Edge on Kubernetes read, and its spelling variants. */
export const K8S_EXPERIMENTAL_KEY = "k8s-experimental";

export const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/**
 * `k8s-experimental`: Kubernetes settings a module's createOptions may carry, read into the types
 * they name with every key matched case-insensitively at every level and values coerced as the
 * original did (it read each section with Newtonsoft's JToken.ToObject<V1…>(), see
 * KubernetesExperimentalCreatePodParameters.cs in Azure/iotedge before #6060). The original knew
 * nodeSelector, resources, volumes, securityContext, serviceOptions and strategy; edgek8s adds
 * tolerations, affinity, persistentVolumeClaims (per Docker volume) and pvcRetention. Anything the
 * API server would refuse in a typed object (unknown fields, wrong types, bad quantities, values
 * outside a closed set, missing required fields) is refused here with its JSON path.
 */
export const k8sExperimentalShape = t.object(
  {
    volumes: t.list(
      t.object(
        {
          volume: t.k8s("V1Volume"),
          volumeMounts: t.list(t.k8s("V1VolumeMount")),
          volumeMount: t.k8s("V1VolumeMount"),
        },
        "error",
      ),
    ),
    resources: t.k8s("V1ResourceRequirements"),
    nodeSelector: t.map(t.string()),
    securityContext: t.k8s("V1PodSecurityContext"),
    serviceOptions: t.object({ type: t.enum(SERVICE_TYPES), loadBalancerIP: t.string() }, "error"),
    strategy: t.k8s("V1DeploymentStrategy"),
    tolerations: t.list(t.k8s("V1Toleration")),
    affinity: t.k8s("V1Affinity"),
    persistentVolumeClaims: t.map(t.k8s("V1PersistentVolumeClaimSpec")),
    pvcRetention: t.enum(["Retain", "Delete"]),
  },
  {
    kind: "warn",
    hint: () =>
      "is not a k8s-experimental section edgek8s knows (volumes, resources, nodeSelector, securityContext, serviceOptions, strategy, tolerations, affinity, persistentVolumeClaims, pvcRetention); ignored",
  },
);

/** What the reader returns, in the Kubernetes client's types. */
export interface K8sExperimental {
  volumes?: { volume?: V1Volume; volumeMounts?: V1VolumeMount[]; volumeMount?: V1VolumeMount }[];
  resources?: V1ResourceRequirements;
  nodeSelector?: Record<string, string>;
  securityContext?: V1PodSecurityContext;
  serviceOptions?: { type?: ServiceType; loadBalancerIP?: string };
  strategy?: V1DeploymentStrategy;
  tolerations?: V1Toleration[];
  affinity?: V1Affinity;
  persistentVolumeClaims?: Record<string, V1PersistentVolumeClaimSpec>;
  pvcRetention?: "Retain" | "Delete";
}
