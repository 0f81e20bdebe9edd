import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { edgeDeploymentCrd } from "@edgek8s/agent";
import { adoptionPolicyBindingObject, adoptionPolicyObject } from "../adoption.ts";
import { AGENT_CHART, AGENT_RELEASE, agentChartDigest, agentReleaseDescription } from "../chart.ts";
import type { StackConfig } from "../config.ts";
import { agentNamespaceObject, agentReleaseValues } from "../objects.ts";
import { kubeObject } from "./kubeObject.ts";

export interface EdgeClusterArgs {
  readonly cluster: StackConfig["clusters"][string];
  /** The kubeconfig document for this cluster. */
  readonly kubeconfig: pulumi.Input<string>;
  readonly hubMode: StackConfig["hub"]["mode"];
}

/** Seconds a release waits for the agent's workloads to become ready (helm --wait). */
export const AGENT_RELEASE_TIMEOUT_SECONDS = 300;

/**
 * One Kubernetes cluster: its `@pulumi/kubernetes` provider (the kubeconfig a secret, server-side
 * apply), the admission policy that keeps the program from adopting what it did not make
 * (adoption.ts), the EdgeDeployment CRD (Pulumi is its only owner) and, in `cluster` agent mode, the
 * agent's namespace and Helm release watching every namespace.
 */
export class EdgeCluster extends pulumi.ComponentResource {
  readonly provider: k8s.Provider;
  readonly agent: StackConfig["clusters"][string]["agent"];
  /** The adoption policy's binding: what the CRD waits for. */
  readonly adoptionGuard: pulumi.CustomResource;
  readonly crd: pulumi.CustomResource;
  /**
   * What every namespace waits for: the CRD, which the provider awaits until it is established, so
   * the adoption policy created before it has had that long to take effect in the API server.
   */
  readonly namespaceGuard: pulumi.CustomResource;
  readonly agentRelease: k8s.helm.v3.Release | undefined;

  constructor(name: string, args: EdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edgek8s:index:EdgeCluster", name, {}, opts);
    this.agent = args.cluster.agent;
    this.provider = new k8s.Provider(
      `${name}-kubernetes`,
      {
        kubeconfig: pulumi.secret(args.kubeconfig),
        context: args.cluster.context,
        enableServerSideApply: true,
        // The cluster is the stack's cluster of this name: new credentials in its kubeconfig update
        // the provider instead of replacing it (and with it every object on the cluster).
        clusterIdentifier: name,
      },
      { parent: this },
    );
    const on = { parent: this, provider: this.provider };
    const policy = kubeObject(`${name}-adoption-policy`, adoptionPolicyObject(), on);
    this.adoptionGuard = kubeObject(`${name}-adoption-policy-binding`, adoptionPolicyBindingObject(), {
      ...on,
      dependsOn: [policy],
    });
    this.crd = kubeObject(`${name}-crd`, edgeDeploymentCrd(), { ...on, dependsOn: [this.adoptionGuard] });
    this.namespaceGuard = this.crd;
    if (this.agent.mode === "cluster") {
      const namespace = kubeObject(`${name}-agent-namespace`, agentNamespaceObject(this.agent), {
        ...on,
        dependsOn: [this.namespaceGuard],
      });
      this.agentRelease = new k8s.helm.v3.Release(
        `${name}-agent`,
        {
          name: AGENT_RELEASE,
          namespace: this.agent.namespace,
          chart: AGENT_CHART,
          description: agentReleaseDescription(agentChartDigest()),
          values: agentReleaseValues(this.agent, args.hubMode),
          timeout: AGENT_RELEASE_TIMEOUT_SECONDS,
        },
        { ...on, dependsOn: [namespace, this.crd] },
      );
    } else {
      this.agentRelease = undefined;
    }
    this.registerOutputs({ crd: this.crd.urn, agentRelease: this.agentRelease?.urn });
  }
}
