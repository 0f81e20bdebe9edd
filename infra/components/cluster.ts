import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { edgeDeploymentCrd } from "@edgek8s/agent";
import type { StackConfig } from "../config.ts";
import { agentNamespaceObject, agentReleaseValues } from "../objects.ts";
import { HelmRelease } from "../providers/helmRelease.ts";
import { chartDigest } from "../providers/helmReleaseOps.ts";
import { KubeObject } from "../providers/kubeObject.ts";

/** The agent chart shipped with the agent package. */
export const AGENT_CHART = dirname(fileURLToPath(import.meta.resolve("@edgek8s/agent/chart")));
export const AGENT_RELEASE = "edgek8s-agent";

let digest: string | undefined;
/** The chart's content hash, computed once per program run. */
export function agentChartDigest(): string {
  digest ??= chartDigest(AGENT_CHART);
  return digest;
}

export interface EdgeClusterArgs {
  readonly cluster: StackConfig["clusters"][string];
  /** The kubeconfig document for this cluster. */
  readonly kubeconfig: pulumi.Input<string>;
  readonly hubMode: StackConfig["hub"]["mode"];
}

/**
 * One Kubernetes cluster: the EdgeDeployment CRD (Pulumi is its only owner) and, in `cluster` agent
 * mode, the agent's namespace and Helm release watching every namespace.
 */
export class EdgeCluster extends pulumi.ComponentResource {
  readonly kubeconfig: pulumi.Output<string>;
  readonly context: string | undefined;
  readonly agent: StackConfig["clusters"][string]["agent"];
  readonly crd: KubeObject;
  readonly agentRelease: HelmRelease | undefined;

  constructor(name: string, args: EdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edgek8s:index:EdgeCluster", name, {}, opts);
    this.kubeconfig = pulumi.secret(args.kubeconfig);
    this.context = args.cluster.context;
    this.agent = args.cluster.agent;
    const connection = { kubeconfig: this.kubeconfig, context: this.context };
    this.crd = new KubeObject(`${name}-crd`, { ...connection, object: edgeDeploymentCrd() }, { parent: this });
    if (this.agent.mode === "cluster") {
      const namespace = new KubeObject(
        `${name}-agent-namespace`,
        { ...connection, object: agentNamespaceObject(this.agent) },
        { parent: this },
      );
      this.agentRelease = new HelmRelease(
        `${name}-agent`,
        {
          ...connection,
          name: AGENT_RELEASE,
          namespace: this.agent.namespace,
          chart: AGENT_CHART,
          chartDigest: agentChartDigest(),
          values: agentReleaseValues(this.agent, args.hubMode),
        },
        { parent: this, dependsOn: [namespace, this.crd] },
      );
    } else {
      this.agentRelease = undefined;
    }
    this.registerOutputs({ crd: this.crd.id, agentRelease: this.agentRelease?.id });
  }
}
