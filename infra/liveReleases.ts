import { dirname } from "node:path";
import type { ModulesContent } from "@edgek8s/agent";
import { KubeClient, KubeError, type KubeObject, RESOURCES, clusterConfigFromYaml } from "@edgek8s/agent/kube";
import type { LiveEdgeRelease } from "./localReleases.ts";

type EdgeReleaseObject = KubeObject & {
  spec?: {
    targetCondition?: string;
    priority?: number;
    labels?: Record<string, string>;
    modulesContent?: ModulesContent;
  };
};

/**
 * The EdgeReleases a local cluster holds now, read once when the program starts (the planner's
 * `live`), the way the hub's EdgeTrack provider lists configurations. None on a cluster without the
 * EdgeRelease CRD (a fresh cluster). Read-only; the cluster's own kubeconfig (token or client
 * certificate; exec plugins are not run).
 */
export async function readLiveReleases(
  kubeconfig: string,
  kubeconfigPath: string,
  context: string | undefined,
): Promise<LiveEdgeRelease[]> {
  const client = new KubeClient(clusterConfigFromYaml(kubeconfig, dirname(kubeconfigPath), context));
  try {
    const { items } = await client.list<EdgeReleaseObject>(RESOURCES.EdgeRelease);
    return items.map((item) => ({
      id: item.metadata?.name ?? "",
      labels: item.spec?.labels ?? {},
      targetCondition: item.spec?.targetCondition ?? "",
      priority: item.spec?.priority ?? 0,
      // EdgeReleases have no custom metrics (IoT Hub's are computed by the release engine).
      metrics: {},
      modulesContent: item.spec?.modulesContent ?? { $edgeAgent: {} },
    }));
  } catch (error) {
    if (error instanceof KubeError && error.status === 404) return [];
    throw error;
  } finally {
    client.close();
  }
}
