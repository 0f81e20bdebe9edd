// The real-node tier: a control plane with a real node (scripts/cluster/realNode), the images built by
// scripts/image, the agent installed from its Helm chart as a Pod. Needs root, podman and containerd
// (scripts/packages); `npm run test:realnode` runs it.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Cluster, CHART_DIR, CRD_FILE, startCluster, waitFor } from "../integration/harness.ts";
import type { EdgeDeploymentStatus, ModuleStatus } from "../../src/crd/edgeDeployment.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { RESOURCES } from "../../src/kube/resources.ts";
import { toolPath } from "../../../scripts/cluster/tools.ts";

export { waitFor, CRD_FILE };
export type { Cluster };

const IMAGE_SCRIPT = fileURLToPath(new URL("../../../scripts/image", import.meta.url));

/** The reference scripts/image gives an image (agent, pause, test-echo, …). */
export const imageRef = (name: string): string =>
  execFileSync(IMAGE_SCRIPT, ["--ref", name], { encoding: "utf8" }).trim();

export const TEST_IMAGES = {
  echo: imageRef("test-echo"),
  caller: imageRef("test-caller"),
  sdkEnv: imageRef("test-sdk-env"),
  crash: imageRef("test-crash"),
  unhealthy: imageRef("test-unhealthy"),
  binds: imageRef("test-binds"),
} as const;
export const AGENT_IMAGE = imageRef("agent");
export const AGENT_NAMESPACE = "edgek8s-system";

/** A control plane with a real node that has `images` imported, and the EdgeDeployment CRD. */
export function startRealNodeCluster(images: readonly string[]): Promise<Cluster> {
  return startCluster({ realNode: { images } });
}

/** `helm install` of the agent chart with its defaults (image, security settings, RBAC), `--wait`ed. */
export function installAgent(cluster: Cluster, values: readonly string[] = []): string {
  return execFileSync(
    toolPath("helm"),
    [
      "install",
      "edgek8s-agent",
      CHART_DIR,
      "--kubeconfig",
      cluster.plane.kubeconfigPath,
      "--namespace",
      AGENT_NAMESPACE,
      "--create-namespace",
      "--set",
      "watch.mode=all",
      "--set",
      "hubBridge.enabled=false",
      ...values,
      "--wait",
      "--timeout",
      "180s",
    ],
    { encoding: "utf8" },
  );
}

export const kubectl = (cluster: Cluster, ...args: string[]): string => cluster.plane.kubectl(args);

/** The JSON lines a module's container printed (test module images log one per event). */
export function moduleEvents(cluster: Cluster, namespace: string, module: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = kubectl(cluster, "logs", "-n", namespace, `deployment/${module}`, "--tail=50");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

type EdgeDeploymentObject = KubeObject & { status?: EdgeDeploymentStatus };

/** A module's status as the agent reports it in the EdgeDeployment. */
export async function moduleStatus(
  cluster: Cluster,
  namespace: string,
  device: string,
  module: string,
): Promise<ModuleStatus | undefined> {
  const object = await cluster.admin.get<EdgeDeploymentObject>(RESOURCES.EdgeDeployment, namespace, device);
  return Object.values(object?.status?.modules ?? {}).find((m) => m.name === module);
}

/** Waits until the agent reports `module` in a state `accept` takes, and returns that status. */
export async function waitForModule(
  cluster: Cluster,
  namespace: string,
  device: string,
  module: string,
  accept: (status: ModuleStatus) => boolean,
  timeoutMs = 120_000,
): Promise<ModuleStatus> {
  let last: ModuleStatus | undefined;
  await waitFor(
    `module ${namespace}/${module}`,
    async () => {
      last = await moduleStatus(cluster, namespace, device, module);
      return last !== undefined && accept(last);
    },
    timeoutMs,
    () => `last status: ${JSON.stringify(last)}\n${kubectl(cluster, "get", "pods,events", "-n", namespace)}`,
    500,
  );
  return last!;
}
