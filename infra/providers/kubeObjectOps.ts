import { setTimeout as sleep } from "node:timers/promises";
import { KubeClient, type ResourceType, clusterConfigFromYaml } from "@edgek8s/agent/kube";
import type { ObjectSpec } from "../namespace.ts";

/**
 * The work behind the `KubeObject` dynamic resource: one Kubernetes object, written by server-side
 * apply as `edgek8s-pulumi`. Kept apart from the resource class so the provider process imports it
 * by name (nothing here is serialised with the program) and so tests can drive it directly.
 */

export const FIELD_MANAGER = "edgek8s-pulumi";

export interface KubeObjectInputs {
  /** kubeconfig document (YAML), passed as a secret. */
  readonly kubeconfig: string;
  readonly context?: string | undefined;
  readonly object: ObjectSpec;
}

export interface KubeObjectOutputs extends KubeObjectInputs {
  readonly uid: string;
}

/** The kinds the program creates; the agent's client knows only the kinds the agent manages. */
const TYPES: Record<string, ResourceType> = {
  CustomResourceDefinition: {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    namespaced: false,
  },
  Namespace: { apiVersion: "v1", kind: "Namespace", plural: "namespaces", namespaced: false },
  NetworkPolicy: {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    namespaced: true,
  },
  ResourceQuota: { apiVersion: "v1", kind: "ResourceQuota", plural: "resourcequotas", namespaced: true },
  LimitRange: { apiVersion: "v1", kind: "LimitRange", plural: "limitranges", namespaced: true },
  Secret: { apiVersion: "v1", kind: "Secret", plural: "secrets", namespaced: true },
  EdgeDeployment: { apiVersion: "edgek8s.io/v1", kind: "EdgeDeployment", plural: "edgedeployments", namespaced: true },
};

export function resourceTypeOf(object: Pick<ObjectSpec, "apiVersion" | "kind">): ResourceType {
  const type = TYPES[object.kind];
  if (!type || type.apiVersion !== object.apiVersion) {
    throw new Error(
      `KubeObject: ${object.apiVersion} ${object.kind} is not a kind the program creates (known: ${Object.values(TYPES)
        .map((t) => `${t.apiVersion} ${t.kind}`)
        .join(", ")})`,
    );
  }
  return type;
}

/** `Kind namespace/name` or `Kind name`: unique within a cluster, readable in Pulumi's output. */
export function objectId(object: ObjectSpec): string {
  const ns = object.metadata.namespace;
  return `${object.kind} ${ns !== undefined ? `${ns}/` : ""}${object.metadata.name}`;
}

function identity(object: ObjectSpec): string {
  return JSON.stringify([object.apiVersion, object.kind, object.metadata.namespace ?? "", object.metadata.name]);
}

export interface KubeObjectDiff {
  readonly changes: boolean;
  readonly replaces: string[];
  readonly deleteBeforeReplace: boolean;
}

/** A changed name, namespace, kind or cluster replaces the object; any other change is an apply. */
export function diffKubeObject(olds: KubeObjectInputs, news: KubeObjectInputs): KubeObjectDiff {
  const replaces: string[] = [];
  if (identity(olds.object) !== identity(news.object)) replaces.push("object");
  if ((olds.context ?? "") !== (news.context ?? "")) replaces.push("context");
  const changes =
    replaces.length > 0 ||
    JSON.stringify(olds.object) !== JSON.stringify(news.object) ||
    olds.kubeconfig !== news.kubeconfig;
  // Same name and namespace but another kind or cluster: the old one must go first.
  const sameName =
    olds.object.metadata.name === news.object.metadata.name &&
    olds.object.metadata.namespace === news.object.metadata.namespace;
  return { changes, replaces, deleteBeforeReplace: replaces.length > 0 && sameName };
}

export function clientFor(inputs: Pick<KubeObjectInputs, "kubeconfig" | "context">): KubeClient {
  return new KubeClient(clusterConfigFromYaml(inputs.kubeconfig, process.cwd(), inputs.context));
}

/**
 * Creates the object. An object of that name already there is an error, not an adoption: `pulumi
 * destroy` must remove only what the stack made.
 */
export async function createObject(client: KubeClient, object: ObjectSpec): Promise<string> {
  const type = resourceTypeOf(object);
  const existing = await client.get(type, object.metadata.namespace, object.metadata.name);
  if (existing) {
    throw new Error(
      `${objectId(object)} already exists and was not made by this stack; delete it or choose another device id`,
    );
  }
  const applied = await client.apply(object, FIELD_MANAGER, undefined, type);
  return applied.metadata?.uid ?? "";
}

/** Applies the new state; fields the program no longer sets are removed by server-side apply. */
export async function updateObject(client: KubeClient, object: ObjectSpec): Promise<string> {
  const applied = await client.apply(object, FIELD_MANAGER, undefined, resourceTypeOf(object));
  return applied.metadata?.uid ?? "";
}

export interface DeleteOptions {
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

/**
 * Deletes the object (already gone is success) and waits until the server no longer has it, so a
 * namespace or CRD that is still terminating does not break the next `pulumi up`.
 */
export async function deleteObject(
  client: KubeClient,
  object: ObjectSpec,
  uid: string | undefined,
  { timeoutMs = 300_000, pollMs = 250 }: DeleteOptions = {},
): Promise<void> {
  const type = resourceTypeOf(object);
  const { namespace, name } = object.metadata;
  await client.delete(type, namespace, name, uid !== "" ? uid : undefined).catch((error: unknown) => {
    // A precondition failure means a newer object of that name: not ours to delete.
    if ((error as { status?: number }).status !== 409) throw error;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await client.get(type, namespace, name);
    if (!current || (uid !== undefined && uid !== "" && current.metadata?.uid !== uid)) return;
    if (Date.now() > deadline) {
      throw new Error(`${objectId(object)} is still terminating after ${String(timeoutMs / 1000)} s`);
    }
    await sleep(pollMs);
  }
}

/** Runs `work` with a client for the inputs' cluster and closes the client after. */
export async function withClient<T>(
  inputs: Pick<KubeObjectInputs, "kubeconfig" | "context">,
  work: (client: KubeClient) => Promise<T>,
): Promise<T> {
  const client = clientFor(inputs);
  try {
    return await work(client);
  } finally {
    client.close();
  }
}
