import * as pulumi from "@pulumi/pulumi";
import type { ObjectSpec } from "../namespace.ts";
import type { KubeObjectInputs, KubeObjectOutputs } from "./kubeObjectOps.ts";

/**
 * Pulumi serialises a dynamic provider's methods into the state. Each one imports its operations
 * by package name when it runs, so nothing but this string is captured, and the provider keeps
 * working after the repository moves.
 */
const OPS = "@edgek8s/infra/providers/kubeObjectOps.ts";

type Ops = typeof import("./kubeObjectOps.ts");

const provider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: KubeObjectOutputs, news: KubeObjectInputs) {
    const ops = (await import(OPS)) as Ops;
    return ops.diffKubeObject(olds, news);
  },
  async create(inputs: KubeObjectInputs) {
    const ops = (await import(OPS)) as Ops;
    const uid = await ops.withClient(inputs, (client) => ops.createObject(client, inputs.object));
    const outs: KubeObjectOutputs = { ...inputs, uid };
    return { id: ops.objectId(inputs.object), outs };
  },
  async update(_id: string, _olds: KubeObjectOutputs, news: KubeObjectInputs) {
    const ops = (await import(OPS)) as Ops;
    const uid = await ops.withClient(news, (client) => ops.updateObject(client, news.object));
    const outs: KubeObjectOutputs = { ...news, uid };
    return { outs };
  },
  async delete(_id: string, props: KubeObjectOutputs) {
    const ops = (await import(OPS)) as Ops;
    await ops.withClient(props, (client) => ops.deleteObject(client, props.object, props.uid));
  },
};

export interface KubeObjectArgs {
  /** The cluster's kubeconfig document; always handled as a secret. */
  readonly kubeconfig: pulumi.Input<string>;
  readonly context?: pulumi.Input<string | undefined>;
  readonly object: pulumi.Input<ObjectSpec>;
  /** Keep the whole object secret in the state (for Secrets). */
  readonly secret?: boolean;
}

/**
 * One Kubernetes object, created and updated by server-side apply (field manager `edgek8s-pulumi`)
 * and deleted with a wait until it is gone. Stands in for `@pulumi/kubernetes`, whose provider cannot
 * be built on this project's machines (see README, "Why not @pulumi/kubernetes").
 */
export class KubeObject extends pulumi.dynamic.Resource {
  declare readonly object: pulumi.Output<ObjectSpec>;
  declare readonly uid: pulumi.Output<string>;

  constructor(name: string, args: KubeObjectArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      {
        kubeconfig: pulumi.secret(args.kubeconfig),
        context: args.context,
        object: args.secret === true ? pulumi.secret(args.object) : args.object,
        uid: undefined,
      },
      { ...opts, additionalSecretOutputs: args.secret === true ? ["kubeconfig", "object"] : ["kubeconfig"] },
      "edgek8s",
      "KubeObject",
    );
  }
}
