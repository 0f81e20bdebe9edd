import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import {
  type ControlPlane,
  SIMULATE_ANNOTATION,
  startControlPlane,
  type ControlPlaneOptions,
} from "../../../scripts/cluster/controlPlane.ts";
import { waitFor } from "../../../scripts/cluster/processes.ts";
import { toolPath } from "../../../scripts/cluster/tools.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { clusterConfigFromFile, clusterConfigFromYaml } from "../../src/kube/config.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { RESOURCES } from "../../src/kube/resources.ts";
import { locateDesiredDocuments } from "../../src/manifest/document.ts";
import { Controller, type ControllerOptions } from "../../src/reconcile/controller.ts";
import { silentLogger } from "../../src/runtime/log.ts";
import { DEFAULT_TRANSLATION_DEFAULTS } from "../../src/translate/context.ts";

export const CRD_FILE = fileURLToPath(new URL("../../crd/edgedeployments.edgek8s.io.yaml", import.meta.url));
export const RELEASE_CRD_FILE = fileURLToPath(new URL("../../crd/edgereleases.edgek8s.io.yaml", import.meta.url));
export const AGENT_SA = "edgek8s-agent";
export { waitFor };

export interface Cluster {
  readonly plane: ControlPlane;
  readonly admin: KubeClient;
  readonly adminConfig: KubeConfig;
}

/** A control plane with the EdgeDeployment CRD installed, and any other CRD files `options` name. */
export async function startCluster(options: ControlPlaneOptions = {}): Promise<Cluster> {
  const plane = await startControlPlane({ ...options, crdFiles: [CRD_FILE, ...(options.crdFiles ?? [])] });
  const adminConfig = plane.kubeConfig();
  return { plane, admin: new KubeClient(clusterConfigFromFile(plane.kubeconfigPath)), adminConfig };
}

export async function createNamespace(cluster: Cluster, name: string): Promise<void> {
  await cluster.adminConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
}

/**
 * The agent's ServiceAccount and RBAC exactly as the Helm chart renders them for `namespace` (local
 * mode unless `chartArgs` say otherwise), and a client that authenticates as it.
 */
export async function agentClient(
  cluster: Cluster,
  namespace: string,
  chartArgs: readonly string[] = ["--set", "hubBridge.enabled=false"],
): Promise<KubeClient> {
  const rbac = renderChart(namespace, ["--set", `watch.namespaces={${namespace}}`, ...chartArgs]).filter(
    (o) => o.kind !== "Deployment",
  );
  const kubectl = (stdin: string) =>
    execFileSync(toolPath("kubectl"), ["--kubeconfig", cluster.plane.kubeconfigPath, "apply", "-f", "-"], {
      input: stdin,
      encoding: "utf8",
    });
  kubectl(rbac.map((o) => JSON.stringify(o)).join("\n"));
  const { yaml } = await cluster.plane.serviceAccountKubeConfig(namespace, AGENT_SA);
  return new KubeClient(clusterConfigFromYaml(yaml, cluster.plane.dir));
}

export const CHART_DIR = fileURLToPath(new URL("../../chart", import.meta.url));

/** `helm template` of the agent chart as release `edgek8s-agent` in `namespace`, parsed. */
export function renderChart(namespace: string, args: readonly string[] = []): KubeObject[] {
  const out = execFileSync(
    toolPath("helm"),
    ["template", "edgek8s-agent", CHART_DIR, "--namespace", namespace, ...args],
    { encoding: "utf8" },
  );
  return parseAllDocuments(out)
    .map((d) => d.toJS() as KubeObject)
    .filter((o) => o !== null);
}

export async function startController(
  client: KubeClient,
  namespaces: readonly (string | undefined)[],
  extra: Partial<ControllerOptions> = {},
): Promise<Controller> {
  const controller = new Controller(
    client,
    { namespaces, defaults: DEFAULT_TRANSLATION_DEFAULTS, workers: 2, resyncMs: 3_600_000, ...extra },
    silentLogger,
  );
  await controller.start();
  return controller;
}

/** An EdgeDeployment object for a manifest (any accepted file shape). */
export function edgeDeployment(
  namespace: string,
  deviceId: string,
  manifest: unknown,
  desiredVersion?: number,
): KubeObject {
  const docs = locateDesiredDocuments(manifest);
  if ("message" in docs) throw new Error(docs.message);
  return {
    apiVersion: "edgek8s.io/v1",
    kind: "EdgeDeployment",
    metadata: { name: deviceId, namespace },
    spec: {
      deviceId,
      hubHostName: "test-hub.azure-devices.net",
      edgeAgent: docs.edgeAgent,
      edgeHub: docs.edgeHub,
      ...(desiredVersion !== undefined ? { desiredVersion } : {}),
    },
  };
}

export async function getObject<T = KubeObject>(
  client: KubeClient,
  kind: keyof typeof RESOURCES,
  namespace: string,
  name: string,
): Promise<T | undefined> {
  return (await client.get(RESOURCES[kind], namespace, name)) as T | undefined;
}

/** Anything with work queued in the background: a controller, a release engine. */
export interface Worker {
  idle(): Promise<void>;
}

/** Waits until every worker has nothing to do and no write has happened for `quietMs`. */
export async function settle(workers: Worker | readonly Worker[], plane: ControlPlane, quietMs = 400): Promise<void> {
  const all: readonly Worker[] = Array.isArray(workers) ? workers : [workers as Worker];
  let last = -1;
  await waitFor(
    "agent settled",
    async () => {
      for (const worker of all) await worker.idle();
      const count = plane.writes().length;
      const quiet = count === last;
      last = count;
      if (!quiet) await new Promise((r) => setTimeout(r, quietMs));
      return quiet;
    },
    30_000,
  );
}

/**
 * Another writer's edit of a live Deployment's pod template (a person with kubectl, a chaos tool):
 * server-side apply as `manager` of the given container image and template annotations.
 */
export async function editDeploymentTemplate(
  client: KubeClient,
  namespace: string,
  name: string,
  edit: { image?: string; annotations?: Record<string, string> },
  manager: string,
): Promise<void> {
  type LiveDeployment = KubeObject & {
    spec?: {
      selector?: unknown;
      template?: {
        metadata?: { labels?: Record<string, string> };
        spec?: { containers?: { name: string; image?: string }[] };
      };
    };
  };
  const live = await client.get<LiveDeployment>(RESOURCES.Deployment, namespace, name);
  const container = live?.spec?.template?.spec?.containers?.[0];
  await client.apply(
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace },
      spec: {
        selector: live?.spec?.selector,
        template: {
          metadata: {
            labels: live?.spec?.template?.metadata?.labels,
            ...(edit.annotations ? { annotations: edit.annotations } : {}),
          },
          spec: { containers: [{ name: container?.name ?? name, image: edit.image ?? container?.image }] },
        },
      },
    },
    manager,
  );
}

/**
 * Chaos on a full plane: gives a module's running pod the simulate annotation, which kwok answers by
 * crashing its container (scripts/cluster/kwok-stages.yaml). Returns the pod's name.
 */
export async function crashModulePod(client: KubeClient, namespace: string, module: string): Promise<string> {
  const pods = await client.list(RESOURCES.Pod, { namespace });
  const pod = pods.items.find(
    (p) =>
      p.metadata?.labels?.["edgek8s.io/module"] === module &&
      p.metadata.deletionTimestamp === undefined &&
      (p as { status?: { podIP?: string } }).status?.podIP !== undefined,
  );
  const name = pod?.metadata?.name;
  if (name === undefined) throw new Error(`no running pod of module ${module} in ${namespace}`);
  await client.apply(
    { apiVersion: "v1", kind: "Pod", metadata: { name, namespace, annotations: { [SIMULATE_ANNOTATION]: "crash" } } },
    "test-chaos",
  );
  return name;
}
