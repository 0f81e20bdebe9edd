import * as pulumi from "@pulumi/pulumi";
import { EdgeCluster } from "./components/cluster.ts";
import { EdgeDevice } from "./components/device.ts";
import { EdgeHub } from "./components/hub.ts";
import type { StackInputs } from "./inputs.ts";

export interface DeviceSummary {
  readonly cluster: string;
  readonly namespace: string;
}

export interface StackOutputs {
  readonly hubHostName: pulumi.Output<string>;
  readonly devices: Record<string, DeviceSummary>;
  /** Per device, its own connection string (secret); empty without Azure. */
  readonly deviceConnectionStrings: pulumi.Output<Record<string, string>>;
}

/** Declares the whole stack: the hub, each cluster, each device. Composition only. */
export function defineStack(inputs: StackInputs): StackOutputs {
  const { config } = inputs;
  const hub = new EdgeHub("hub", { hub: config.hub });
  const clusters = new Map<string, EdgeCluster>();
  for (const [name, cluster] of Object.entries(config.clusters)) {
    const kubeconfig = inputs.kubeconfigs[name];
    if (kubeconfig === undefined) throw new Error(`no kubeconfig for cluster "${name}"`);
    clusters.set(name, new EdgeCluster(name, { cluster, kubeconfig, hubMode: config.hub.mode }));
  }
  const devices: Record<string, DeviceSummary> = {};
  const connectionStrings: Record<string, pulumi.Output<string>> = {};
  for (const [deviceId, device] of Object.entries(config.devices)) {
    const cluster = clusters.get(device.cluster);
    if (!cluster) throw new Error(`device "${deviceId}": unknown cluster "${device.cluster}"`);
    const edge = new EdgeDevice(deviceId, { config, hub, cluster, manifest: inputs.manifests.get(deviceId) });
    devices[deviceId] = { cluster: device.cluster, namespace: edge.namespace };
    if (edge.connectionString) connectionStrings[deviceId] = edge.connectionString;
  }
  return {
    hubHostName: hub.hostName,
    devices,
    deviceConnectionStrings: pulumi.secret(pulumi.output(connectionStrings)),
  };
}
