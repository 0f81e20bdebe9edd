import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { Registry } from "azure-iothub";
import { HubStore } from "./hubStore.ts";
import { HUB_RETRY } from "./hubCalls.ts";
import { LocalStore } from "./localStore.ts";
import type { StackFacts } from "./stack.ts";
import { type ReleaseStore, StoreError } from "./store.ts";
import { KubeClient } from "../kube/client.ts";
import { loadClusterConfig } from "../kube/config.ts";

export interface StoreOptions {
  /** The hub's connection string (hub stacks); never printed. */
  readonly connectionString: string | undefined;
  /** The variable it came from, for messages. */
  readonly connectionVar: string;
  /** Local stacks: the cluster's kubeconfig instead of the stack's. */
  readonly kubeconfig: string | undefined;
  readonly twinReadLimit: number | undefined;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Tests: a Registry reaching the hub double. */
  readonly registry?: (connectionString: string) => Registry;
}

/** `HostName=…;…` → the host name, or undefined when the text is not a connection string. */
function hostNameOf(connectionString: string): string | undefined {
  return /(?:^|;)HostName=([^;]+)/.exec(connectionString)?.[1];
}

/** The store where the stack keeps its releases: the stack's IoT Hub, or its local cluster. */
export async function openStore(facts: StackFacts, options: StoreOptions): Promise<ReleaseStore> {
  if (facts.hub.mode === "azure") {
    const cs = options.connectionString;
    if (cs === undefined || cs === "")
      throw new StoreError(
        `${options.connectionVar} is not set: it must hold a connection string of ${facts.hub.hostName} with ServiceConnect and registry rights`,
      );
    const host = hostNameOf(cs);
    if (host === undefined) throw new StoreError(`${options.connectionVar} does not hold an IoT Hub connection string`);
    if (host.toLowerCase() !== facts.hub.hostName.toLowerCase())
      throw new StoreError(
        `${options.connectionVar} is for ${host}, but stack ${facts.stack} uses ${facts.hub.hostName}`,
      );
    const registry = options.registry?.(cs) ?? (await import("azure-iothub")).default.Registry.fromConnectionString(cs);
    return new HubStore({
      registry,
      hostName: facts.hub.hostName,
      retry: {
        ...HUB_RETRY,
        sleep: options.sleep ?? ((ms) => sleep(ms)),
        random: Math.random,
        queriesPerMinute: Math.floor(((facts.hub.sku === "S3" ? 1000 : 20) * facts.hub.capacity) / 2),
      },
      ...(options.twinReadLimit !== undefined ? { twinReadLimit: options.twinReadLimit } : {}),
      maxConfigurations: facts.hub.sku === "F1" ? 10 : 100,
    });
  }
  const clusters = Object.entries(facts.clusters);
  let kubeconfig = options.kubeconfig;
  let name = "local";
  if (kubeconfig === undefined) {
    if (clusters.length !== 1)
      throw new StoreError(
        `stack ${facts.stack} has ${clusters.length} clusters; name the one holding the releases with --kubeconfig`,
      );
    [name] = clusters[0]!;
    kubeconfig = clusters[0]![1].kubeconfig;
  }
  if (kubeconfig !== undefined && !existsSync(kubeconfig))
    throw new StoreError(`kubeconfig ${kubeconfig} does not exist (is the cluster up? scripts/run starts it)`);
  try {
    return new LocalStore(new KubeClient(loadClusterConfig(kubeconfig)), name);
  } catch (error) {
    throw new StoreError(`cannot use kubeconfig ${kubeconfig ?? "(default)"}: ${(error as Error).message}`);
  }
}
