/** The API resources the agent reads and writes, by kind. */
export interface ResourceType {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

function resource(apiVersion: string, kind: string, plural: string, namespaced = true): ResourceType {
  return { apiVersion, kind, plural, namespaced };
}

export const RESOURCES = {
  EdgeDeployment: resource("edgek8s.io/v1", "EdgeDeployment", "edgedeployments"),
  EdgeRelease: resource("edgek8s.io/v1", "EdgeRelease", "edgereleases", false),
  Deployment: resource("apps/v1", "Deployment", "deployments"),
  Service: resource("v1", "Service", "services"),
  Secret: resource("v1", "Secret", "secrets"),
  PersistentVolumeClaim: resource("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
  ServiceAccount: resource("v1", "ServiceAccount", "serviceaccounts"),
  Pod: resource("v1", "Pod", "pods"),
  Event: resource("v1", "Event", "events"),
  Lease: resource("coordination.k8s.io/v1", "Lease", "leases"),
  Namespace: resource("v1", "Namespace", "namespaces", false),
} as const;

export type Kind = keyof typeof RESOURCES;

export function resourceFor(kind: string): ResourceType {
  const type = (RESOURCES as Record<string, ResourceType | undefined>)[kind];
  if (!type) throw new Error(`edgek8s does not manage objects of kind ${kind}`);
  return type;
}

/** `/apis/apps/v1/namespaces/ns/deployments[/name]`, or the cluster-wide list path without a namespace. */
export function resourcePath(type: ResourceType, namespace?: string, name?: string): string {
  const base = type.apiVersion.includes("/") ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
  const ns = type.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${base}${ns}/${type.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ""}`;
}
