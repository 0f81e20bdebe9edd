import * as pulumi from "@pulumi/pulumi";
import type { ModulesContent } from "@edgek8s/agent";
import type { LocalTrackPlan } from "../localReleases.ts";
import { holdsPassword } from "../providers/edgeTrack.ts";
import type { EdgeCluster } from "./cluster.ts";
import { kubeObject } from "./kubeObject.ts";

export interface LocalTrackArgs {
  readonly cluster: EdgeCluster;
  readonly clusterName: string;
  readonly plan: LocalTrackPlan;
  /**
   * What the releases wait for: the EdgeRelease CRD. Not the devices' namespaces: the release engine
   * watches namespaces, so a device whose tags come later is targeted then.
   */
  readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

/**
 * Server-side apply's force: needed only where Pulumi moves the Stable release's target after the
 * rollout wrote it (that field is Pulumi's on the Stable release, ROLLOUT.md §B3). Safe on every
 * release because Pulumi declares no field the rollout owns: no rollout label, and the target
 * condition either ignored (the Kubernetes provider then leaves it to its owner) or Pulumi's.
 */
const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

/**
 * One track's releases in one local cluster: an EdgeRelease per kept release (localReleases.ts), each
 * named by its release id. Content is immutable (the CRD refuses changes); a release the plan no
 * longer keeps is deleted by `up`, and `destroy` deletes them all.
 */
export class LocalTrack extends pulumi.ComponentResource {
  readonly releaseId: pulumi.Output<string>;
  readonly stableId: pulumi.Output<string>;
  readonly candidateId: pulumi.Output<string>;

  constructor(name: string, args: LocalTrackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edgek8s:index:LocalTrack", name, {}, opts);
    const on = { parent: this, provider: args.cluster.provider, dependsOn: args.dependsOn };
    for (const release of args.plan.releases) {
      const spec = release.object["spec"] as { modulesContent: ModulesContent };
      const object = {
        ...release.object,
        metadata: {
          ...release.object.metadata,
          annotations: { ...release.object.metadata.annotations, [PATCH_FORCE_ANNOTATION]: "true" },
        },
        // The cluster holds the content in the clear; the state does not, when it carries a registry password.
        ...(holdsPassword(spec.modulesContent) ? { spec: pulumi.secret(release.object["spec"]) } : {}),
      };
      kubeObject(`${args.clusterName}-${release.id}`, object, {
        ...on,
        ...(release.setsTarget ? {} : { ignoreChanges: ["spec.targetCondition"] }),
      });
    }
    this.releaseId = pulumi.output(args.plan.releaseId);
    this.stableId = pulumi.output(args.plan.stableId);
    this.candidateId = pulumi.output(args.plan.candidateId);
    this.registerOutputs({ releaseId: this.releaseId, stableId: this.stableId, candidateId: this.candidateId });
  }
}
