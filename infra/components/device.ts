import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { deviceNamespace, deviceTags } from "@edgek8s/agent";
import { AGENT_CHART, AGENT_RELEASE, agentChartDigest, agentReleaseDescription } from "../chart.ts";
import { type StackConfig, hubHostName } from "../config.ts";
import type { DesiredDocuments } from "../manifests.ts";
import { deviceNamespaceObjects } from "../namespace.ts";
import { agentReleaseValues, deviceCredentialsSecret, edgeDeploymentObject } from "../objects.ts";
import { DeviceIdentity } from "../providers/deviceIdentity.ts";
import type { TagValue } from "../providers/deviceTags.ts";
import { AGENT_RELEASE_TIMEOUT_SECONDS, type EdgeCluster } from "./cluster.ts";
import type { EdgeHub } from "./hub.ts";
import { kubeObject } from "./kubeObject.ts";

export interface EdgeDeviceArgs {
  readonly config: StackConfig;
  readonly hub: EdgeHub;
  readonly cluster: EdgeCluster;
  /** Local mode: the manifest that becomes the device's EdgeDeployment. */
  readonly manifest?: DesiredDocuments | undefined;
}

/**
 * One edge device: its namespace `msiot-<hub>-<device>` with Pod Security labels, NetworkPolicies,
 * quota and limits; in hub mode its IoT Hub identity and a Secret with its own connection string;
 * in local mode its EdgeDeployment; in `device` agent mode its own agent release. The logical name
 * is the device id.
 */
export class EdgeDevice extends pulumi.ComponentResource {
  readonly deviceId: string;
  readonly namespace: string;
  /** The device's own connection string (secret); undefined without Azure. */
  readonly connectionString: pulumi.Output<string> | undefined;
  /** Its IoT Hub identity; undefined without Azure. */
  readonly identity: DeviceIdentity | undefined;

  constructor(deviceId: string, args: EdgeDeviceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edgek8s:index:EdgeDevice", deviceId, {}, opts);
    const { config, hub, cluster } = args;
    const device = config.devices[deviceId];
    if (!device) throw new Error(`EdgeDevice: device "${deviceId}" is not in the stack configuration`);
    this.deviceId = deviceId;
    this.namespace = deviceNamespace(hubHostName(config), deviceId);
    const on = { parent: this, provider: cluster.provider };

    const [namespaceObject, ...contents] = deviceNamespaceObjects(config, deviceId);
    if (!namespaceObject) throw new Error("deviceNamespaceObjects returned no Namespace");
    const namespace = kubeObject(`${deviceId}-namespace`, namespaceObject, {
      ...on,
      dependsOn: [cluster.namespaceGuard],
    });
    const inNamespace = { ...on, dependsOn: [namespace] };
    for (const object of contents) {
      kubeObject(`${deviceId}-${object.kind.toLowerCase()}-${object.metadata.name}`, object, inNamespace);
    }

    if (hub.registryConnectionString !== undefined && hub.serviceConnectionString !== undefined) {
      const identity = new DeviceIdentity(
        `${deviceId}-identity`,
        {
          hubConnectionString: hub.registryConnectionString,
          twinConnectionString: hub.serviceConnectionString,
          hubHostName: hub.hostName,
          deviceId,
          // The stack's tags and the rollout bucket (`tags.edgek8s.bucket`, ROLLOUT.md §B1).
          tags: deviceTags(deviceId, device.tags ?? {}) as Record<string, TagValue>,
        },
        { parent: this },
      );
      this.identity = identity;
      this.connectionString = identity.connectionString;
      kubeObject(
        `${deviceId}-credentials`,
        deviceCredentialsSecret(config, deviceId, pulumi.secret(identity.connectionString)),
        inNamespace,
      );
    } else {
      this.identity = undefined;
      this.connectionString = undefined;
    }

    if (args.manifest !== undefined) {
      kubeObject(`${deviceId}-edgedeployment`, edgeDeploymentObject(config, deviceId, args.manifest), {
        ...on,
        dependsOn: [namespace, cluster.crd],
      });
    }

    if (cluster.agent.mode === "device") {
      new k8s.helm.v3.Release(
        `${deviceId}-agent`,
        {
          name: AGENT_RELEASE,
          namespace: this.namespace,
          chart: AGENT_CHART,
          description: agentReleaseDescription(agentChartDigest()),
          values: agentReleaseValues(cluster.agent, config.hub.mode, this.namespace),
          timeout: AGENT_RELEASE_TIMEOUT_SECONDS,
        },
        { ...on, dependsOn: [namespace, cluster.crd] },
      );
    }
    this.registerOutputs({ namespace: this.namespace, connectionString: this.connectionString });
  }
}
