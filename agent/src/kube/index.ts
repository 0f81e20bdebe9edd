// The Kubernetes REST client and kubeconfig loader, for the Pulumi program's dynamic providers.
export { KubeClient, KubeError } from "./client.ts";
export { clusterConfigFromYaml, type ClusterConfig } from "./config.ts";
export type { KubeObject } from "./objects.ts";
export { RESOURCES, type ResourceType, resourcePath } from "./resources.ts";
