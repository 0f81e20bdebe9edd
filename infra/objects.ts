import {
  DEVICE_CONNECTION_STRING_KEY,
  DEVICE_CREDENTIALS_SECRET,
  EDGE_DEPLOYMENT_API_VERSION,
  EDGE_DEPLOYMENT_KIND,
  deviceNamespace,
  k8sName,
} from "@edgek8s/agent";
import { MANAGED_BY, MANAGED_BY_LABEL } from "./adoption.ts";
import { type StackConfig, hubHostName } from "./config.ts";
import type { DesiredDocuments } from "./manifests.ts";
import { type ObjectSpec, deviceLabels } from "./namespace.ts";

/** The Kubernetes objects the program makes besides a device's namespace set. Pure. */

type AgentConfig = StackConfig["clusters"][string]["agent"];

/** Local mode: the device's desired state, straight from its manifest file. */
export function edgeDeploymentObject(config: StackConfig, deviceId: string, docs: DesiredDocuments): ObjectSpec {
  return {
    apiVersion: EDGE_DEPLOYMENT_API_VERSION,
    kind: EDGE_DEPLOYMENT_KIND,
    metadata: {
      name: k8sName(deviceId),
      namespace: deviceNamespace(hubHostName(config), deviceId),
      labels: deviceLabels(config, deviceId),
    },
    spec: { deviceId, hubHostName: hubHostName(config), edgeAgent: docs.edgeAgent, edgeHub: docs.edgeHub },
  };
}

/**
 * Hub mode: the device's own connection string, for the agent's hub bridge; nothing hub-wide. The
 * connection string is whatever carries it (in the program, the identity's secret output).
 */
export function deviceCredentialsSecret(config: StackConfig, deviceId: string, connectionString: unknown): ObjectSpec {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: DEVICE_CREDENTIALS_SECRET,
      namespace: deviceNamespace(hubHostName(config), deviceId),
      labels: deviceLabels(config, deviceId),
    },
    type: "Opaque",
    stringData: { [DEVICE_CONNECTION_STRING_KEY]: connectionString },
  };
}

export function agentNamespaceObject(agent: AgentConfig): ObjectSpec {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: agent.namespace,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY,
        "app.kubernetes.io/part-of": "edgek8s",
        "pod-security.kubernetes.io/enforce": "restricted",
      },
    },
  };
}

function imageValues(image: string): { repository: string; tag: string } {
  const at = image.lastIndexOf(":");
  const slash = image.lastIndexOf("/");
  return at > slash ? { repository: image.slice(0, at), tag: image.slice(at + 1) } : { repository: image, tag: "" };
}

/**
 * The agent chart's values: in `cluster` mode one release watches every namespace; in `device` mode
 * (the seed's model) a release per device watches that device's namespace only.
 */
export function agentReleaseValues(
  agent: AgentConfig,
  hubMode: StackConfig["hub"]["mode"],
  watchNamespace?: string,
): Record<string, unknown> {
  return {
    // The hub bridge (and its right to write EdgeDeployments) only where IoT Hub is the source.
    hubBridge: { enabled: hubMode === "azure" },
    image: imageValues(agent.image),
    replicaCount: agent.replicas,
    leaderElection: { enabled: true },
    watch: watchNamespace === undefined ? { mode: "all" } : { mode: "namespaces", namespaces: [watchNamespace] },
  };
}
