import * as pulumi from "@pulumi/pulumi";
import type { HelmReleaseInputs, HelmReleaseOutputs } from "./helmReleaseOps.ts";

/** Imported by name when a method runs (see kubeObject.ts for why). */
const OPS = "@edgek8s/infra/providers/helmReleaseOps.ts";

type Ops = typeof import("./helmReleaseOps.ts");

const provider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: HelmReleaseOutputs, news: HelmReleaseInputs) {
    const ops = (await import(OPS)) as Ops;
    return ops.diffHelmRelease(olds, news);
  },
  async create(inputs: HelmReleaseInputs) {
    const ops = (await import(OPS)) as Ops;
    const outs = await ops.installRelease(inputs);
    return { id: `${inputs.namespace}/${inputs.name}`, outs };
  },
  async update(_id: string, _olds: HelmReleaseOutputs, news: HelmReleaseInputs) {
    const ops = (await import(OPS)) as Ops;
    return { outs: await ops.upgradeRelease(news) };
  },
  async delete(_id: string, props: HelmReleaseOutputs) {
    const ops = (await import(OPS)) as Ops;
    await ops.uninstallRelease(props);
  },
};

export interface HelmReleaseArgs {
  readonly kubeconfig: pulumi.Input<string>;
  readonly context?: pulumi.Input<string | undefined>;
  readonly name: pulumi.Input<string>;
  readonly namespace: pulumi.Input<string>;
  readonly chart: pulumi.Input<string>;
  readonly chartDigest: pulumi.Input<string>;
  readonly values: pulumi.Input<Record<string, unknown>>;
  readonly timeoutSeconds?: pulumi.Input<number>;
}

/** A Helm release made with the helm CLI: install, upgrade on change, uninstall on delete. */
export class HelmRelease extends pulumi.dynamic.Resource {
  declare readonly revision: pulumi.Output<number>;
  declare readonly status: pulumi.Output<string>;

  constructor(name: string, args: HelmReleaseArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      {
        ...args,
        kubeconfig: pulumi.secret(args.kubeconfig),
        timeoutSeconds: args.timeoutSeconds ?? 300,
        revision: undefined,
        status: undefined,
      },
      { ...opts, additionalSecretOutputs: ["kubeconfig"] },
      "edgek8s",
      "HelmRelease",
    );
  }
}
