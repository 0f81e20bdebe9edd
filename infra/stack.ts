import * as pulumi from "@pulumi/pulumi";
import { trackIndexes } from "@edgek8s/agent";
import { EdgeCluster } from "./components/cluster.ts";
import { EdgeDevice } from "./components/device.ts";
import { EdgeHub } from "./components/hub.ts";
import { LocalTrack } from "./components/localTrack.ts";
import type { StackInputs } from "./inputs.ts";
import { type LiveEdgeRelease, type LocalTrackPlan, planLocalTrack } from "./localReleases.ts";
import { EdgeTrack } from "./providers/edgeTrack.ts";
import type { TrackSpec } from "./providers/edgeTrackPlan.ts";

export interface DeviceSummary {
  readonly cluster: string;
  readonly namespace: string;
}

export interface StackOutputs {
  readonly hubHostName: pulumi.Output<string>;
  readonly devices: Record<string, DeviceSummary>;
  /** Per device, its own connection string (secret); empty without Azure. */
  readonly deviceConnectionStrings: pulumi.Output<Record<string, string>>;
  /**
   * Per track, its releases (on IoT Hub, or in a local stack's first cluster): the one holding the
   * current content, the stable one, the candidate.
   */
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
  const stagedTarget = config.hub.stagedTarget === "noDevice" ? "deviceId='edgek8s-none'" : "";
  const tracks: Record<string, TrackSummary> = {};
  for (const [name, spec] of trackSpecs(inputs, stagedTarget)) {
    const resource = new EdgeTrack(
      `${name}-track`,
      { hubConnectionString: hub.registryConnectionString, hubHostName: hub.hostName, ...spec },
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

/** Each track's planner input by track name: the same for the hub and for every local cluster. */
function trackSpecs(inputs: StackInputs, stagedTarget: string): Map<string, TrackSpec> {
  const tracks = Object.entries(inputs.config.tracks);
  const indexes = trackIndexes(tracks.map(([name, t]) => ({ name, layer: t.layer })));
  const specs = new Map<string, TrackSpec>();
  for (const [name, track] of tracks) {
    const modulesContent = inputs.tracks.get(name);
    if (modulesContent === undefined) throw new Error(`track "${name}": its manifest was not loaded`);
    specs.set(name, {
      stackId: inputs.stackId,
      track: name,
      layer: track.layer,
      trackIndex: indexes.get(name) ?? 0,
      target: track.target,
      stagedTarget,
      modulesContent,
      metrics: track.metrics,
      retain: track.retain,
    });
  }
  return specs;
}

/** Whether the stack is local and has tracks: EdgeReleases and the agent's release engine. */
export function hasLocalTracks(inputs: Pick<StackInputs, "config">): boolean {
  return inputs.config.hub.mode === "none" && Object.keys(inputs.config.tracks).length > 0;
}

/**
 * Local mode: each track's releases as EdgeReleases in every cluster of the stack (each cluster's
 * release engine is that cluster's IoT Hub), planned against the EdgeReleases the cluster holds now
 * (`live`, per cluster name). Every problem is reported at once, naming the track's key.
 */
function defineLocalTracks(
  inputs: StackInputs,
  clusters: ReadonlyMap<string, EdgeCluster>,
  live: ReadonlyMap<string, readonly LiveEdgeRelease[]>,
): Record<string, TrackSummary> {
  if (!hasLocalTracks(inputs)) return {};
  const specs = trackSpecs(inputs, "");
  const plans: { cluster: string; track: string; plan: LocalTrackPlan }[] = [];
  const problems: string[] = [];
  for (const cluster of clusters.keys()) {
    for (const [name, spec] of specs) {
      const planned = planLocalTrack(spec, live.get(cluster) ?? []);
      if (planned.ok) plans.push({ cluster, track: name, plan: planned.plan });
      else problems.push(`edgek8s:tracks.${name}: ${planned.problem} (cluster ${cluster})`);
    }
  }
  if (problems.length > 0)
    throw new pulumi.RunError(`the tracks' releases cannot be planned:\n  ${problems.join("\n  ")}`);
  const tracks: Record<string, TrackSummary> = {};
  for (const { cluster, track, plan } of plans) {
    const edge = clusters.get(cluster)!;
    const component = new LocalTrack(
      `${cluster}-${track}-track`,
      { cluster: edge, clusterName: cluster, plan, dependsOn: edge.releaseCrd ? [edge.releaseCrd] : [] },
      { parent: edge },
    );
    tracks[track] ??= {
      releaseId: component.releaseId,
      stableId: component.stableId,
      candidateId: component.candidateId,
    };
  }
  return tracks;
}

/**
 * Declares the whole stack: the hub, each cluster, each device, each track. Composition only. `live`:
 * in a local stack with tracks, the EdgeReleases each cluster holds now (none on a fresh cluster).
 */
export function defineStack(
  inputs: StackInputs,
  live: ReadonlyMap<string, readonly LiveEdgeRelease[]> = new Map(),
): StackOutputs {
  const { config } = inputs;
  const hub = new EdgeHub("hub", { hub: config.hub });
  const clusters = new Map<string, EdgeCluster>();
  for (const [name, cluster] of Object.entries(config.clusters)) {
    const kubeconfig = inputs.kubeconfigs[name];
    if (kubeconfig === undefined) throw new Error(`no kubeconfig for cluster "${name}"`);
    clusters.set(
      name,
      new EdgeCluster(name, { cluster, kubeconfig, hubMode: config.hub.mode, releases: hasLocalTracks(inputs) }),
    );
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
    tracks: hasLocalTracks(inputs) ? defineLocalTracks(inputs, clusters, live) : defineTracks(inputs, hub, identities),
  };
}
