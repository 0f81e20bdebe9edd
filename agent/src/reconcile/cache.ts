import type { KubeClient } from "../kube/client.ts";
import { Informer } from "../kube/informer.ts";
import type { KubeObject } from "../kube/objects.ts";
import { RESOURCES } from "../kube/resources.ts";
import type { Logger } from "../runtime/log.ts";
import { LABEL, MANAGED_BY } from "../translate/labels.ts";

/** Kinds the agent makes; a change to one of them re-enqueues its EdgeDeployment. */
export const OWNED_KINDS = [
  "Secret",
  "PersistentVolumeClaim",
  "ServiceAccount",
  "Service",
  "Deployment",
  "Pod",
] as const;
export type OwnedKind = (typeof OWNED_KINDS)[number];

type ByNamespace = Map<string, Map<string, KubeObject>>;

/**
 * Watches EdgeDeployments and everything labelled managed-by edgek8s-agent in the agent's
 * namespaces (or all), indexed by kind and namespace. Reconcile reads only from here, so a resync
 * with nothing changed makes no request at all.
 */
export class ClusterCache {
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly owned = new Map<OwnedKind, ByNamespace>();
  private readonly edgeDeployments = new Map<string, KubeObject>();
  /** EdgeDeployment keys by namespace, so a pod event finds its device without scanning them all. */
  private readonly edgeDeploymentsByNamespace = new Map<string, Set<string>>();

  constructor(
    client: KubeClient,
    namespaces: readonly (string | undefined)[],
    onEdgeDeployment: (key: string) => void,
    onOwned: (object: KubeObject) => void,
    log: Logger,
  ) {
    for (const namespace of namespaces) {
      this.informers.push(
        new Informer(
          client,
          RESOURCES.EdgeDeployment,
          { namespace },
          {
            onUpsert: (o) => {
              this.edgeDeployments.set(key(o), o);
              const keys = this.edgeDeploymentsByNamespace.get(o.metadata?.namespace ?? "") ?? new Set<string>();
              this.edgeDeploymentsByNamespace.set(o.metadata?.namespace ?? "", keys.add(key(o)));
              onEdgeDeployment(key(o));
            },
            onDelete: (o) => {
              this.edgeDeployments.delete(key(o));
              this.edgeDeploymentsByNamespace.get(o.metadata?.namespace ?? "")?.delete(key(o));
              onEdgeDeployment(key(o));
            },
          },
          log,
        ),
      );
      for (const kind of OWNED_KINDS) {
        const index: ByNamespace = this.owned.get(kind) ?? new Map<string, Map<string, KubeObject>>();
        this.owned.set(kind, index);
        this.informers.push(
          new Informer(
            client,
            RESOURCES[kind],
            { namespace, labelSelector: `${LABEL.managedBy}=${MANAGED_BY}` },
            {
              onUpsert: (o) => {
                const ns = o.metadata?.namespace ?? "";
                const names = index.get(ns) ?? new Map<string, KubeObject>();
                index.set(ns, names);
                names.set(o.metadata?.name ?? "", o);
                onOwned(o);
              },
              onDelete: (o) => {
                index.get(o.metadata?.namespace ?? "")?.delete(o.metadata?.name ?? "");
                onOwned(o);
              },
            },
            log,
          ),
        );
      }
    }
  }

  run(signal: AbortSignal): Promise<unknown> {
    return Promise.all(this.informers.map((i) => i.run(signal)));
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.waitForSync()));
  }

  /** Lists everything again; resolves once the cache holds nothing older than this call. */
  async refresh(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.refresh()));
  }

  get synced(): boolean {
    return this.informers.every((i) => i.hasSynced);
  }

  edgeDeployment(key: string): KubeObject | undefined {
    return this.edgeDeployments.get(key);
  }

  edgeDeploymentKeysIn(namespace: string): string[] {
    return [...(this.edgeDeploymentsByNamespace.get(namespace) ?? [])];
  }

  edgeDeploymentKeys(): string[] {
    return [...this.edgeDeployments.keys()];
  }

  /** Objects of a kind in a namespace (the agent's own, by label). */
  ownedIn(kind: OwnedKind, namespace: string): KubeObject[] {
    return [...(this.owned.get(kind)?.get(namespace)?.values() ?? [])];
  }

  get(kind: OwnedKind, namespace: string, name: string): KubeObject | undefined {
    return this.owned.get(kind)?.get(namespace)?.get(name);
  }

  size(): number {
    let n = this.edgeDeployments.size;
    for (const index of this.owned.values()) for (const names of index.values()) n += names.size;
    return n;
  }
}

function key(o: KubeObject): string {
  return `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
}
