import * as pulumi from "@pulumi/pulumi";
import { trackIndexes } from "@edgek8s/agent";
import { EdgeCluster } from "./components/cluster.ts";
import { EdgeDevice } from "./components/device.ts";
import { EdgeHub } from "./components/hub.ts";
import type { StackInputs } from "./inputs.ts";
import { EdgeTrack } from "./providers/edgeTrack.ts";

export interface DeviceSummary {
  readonly cluster: string;
  readonly namespace: string;
}

export interface StackOutputs {
  readonly hubHostName: pulumi.Output<string>;
  readonly devices: Record<string, DeviceSummary>;
  /** Per device, its own connection string (secret); empty without Azure. */
  readonly deviceConnectionStrings: pulumi.Output<Record<string, string>>;
  /** Per track on IoT Hub, its releases: the one holding the current content, the stable one, the candidate. */
  readonly tracks: Record<string, TrackSummary>;
}

export interface TrackSummary {
  readonly releaseId: pulumi.Output<string>;
  readonly stableId: pulumi.Output<string>;
  readonly candidateId: pulumi.Output<string>;
}

/**
 * Hub mode: one EdgeTrack per track (ROLLOUT.md §B3), written with the registryReadWrite key, after
 * every device identity and its tags, so IoT Hub's first evaluation already finds the devices.
 */
function defineTracks(inputs: StackInputs, hub: EdgeHub, identities: pulumi.Resource[]): Record<string, TrackSummary> {
  const { config } = inputs;
  if (config.hub.mode !== "azure" || hub.registryConnectionString === undefined) return {};
  const indexes = trackIndexes(Object.entries(config.tracks).map(([name, t]) => ({ name, layer: t.layer })));
  const stagedTarget = config.hub.stagedTarget === "noDevice" ? "deviceId='edgek8s-none'" : "";
  const tracks: Record<string, TrackSummary> = {};
  for (const [name, track] of Object.entries(config.tracks)) {
    const modulesContent = inputs.tracks.get(name);
    if (modulesContent === undefined) throw new Error(`track "${name}": its manifest was not loaded`);
    const resource = new EdgeTrack(
      `${name}-track`,
      {
        hubConnectionString: hub.registryConnectionString,
        hubHostName: hub.hostName,
        stackId: inputs.stackId,
        track: name,
        layer: track.layer,
        trackIndex: indexes.get(name) ?? 0,
        target: track.target,
        stagedTarget,
        modulesContent,
        metrics: track.metrics,
        retain: track.retain,
      },
      { parent: hub, dependsOn: identities },
    );
    tracks[name] = {
      releaseId: resource.releaseId,
      stableId: resource.stableId,
      candidateId: resource.candidateId,
    };
  }
  return tracks;
}

/** Declares the whole stack: the hub, each cluster, each device, each track. Composition only. */
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
  const identities: pulumi.Resource[] = [];
  for (const [deviceId, device] of Object.entries(config.devices)) {
    const cluster = clusters.get(device.cluster);
    if (!cluster) throw new Error(`device "${deviceId}": unknown cluster "${device.cluster}"`);
    const edge = new EdgeDevice(deviceId, { config, hub, cluster, manifest: inputs.manifests.get(deviceId) });
    devices[deviceId] = { cluster: device.cluster, namespace: edge.namespace };
    if (edge.connectionString) connectionStrings[deviceId] = edge.connectionString;
    if (edge.identity) identities.push(edge.identity);
  }
  return {
    hubHostName: hub.hostName,
    devices,
    deviceConnectionStrings: pulumi.secret(pulumi.output(connectionStrings)),
    tracks: defineTracks(inputs, hub, identities),
  };
}
