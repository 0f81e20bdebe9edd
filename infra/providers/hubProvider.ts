import type * as pulumi from "@pulumi/pulumi";
import type { Registry } from "azure-iothub";

/**
 * The one shape of edgek8s's dynamic providers: IoT Hub objects that have no Pulumi resource (device
 * identities, deployments). Pulumi serialises a dynamic provider's methods into the state, so each
 * method loads its work — an ops module of this package, named by package path — and the
 * `azure-iothub` SDK when it runs: nothing but the module's name is captured, and the provider keeps
 * working after the repository moves. Credentials arrive as (secret) connection-string inputs and
 * become SDK clients through `connect`, one per key the resource signs with.
 */
export type Connect = (connectionString: string) => Registry;

export interface HubResourceOps<Inputs, Outputs> {
  diff(olds: Outputs, news: Inputs): pulumi.dynamic.DiffResult;
  create(connect: Connect, inputs: Inputs): Promise<{ id: string; outs: Outputs }>;
  update(connect: Connect, id: string, olds: Outputs, news: Inputs): Promise<Outputs>;
  /** Idempotent: what is already gone (404) is success. */
  delete(connect: Connect, id: string, props: Outputs): Promise<void>;
}

/** A provider whose work is `resourceOps`, exported by the module `opsModule` (`@edgek8s/infra/providers/…`). */
export function hubProvider<Inputs, Outputs>(opsModule: string): pulumi.dynamic.ResourceProvider<Inputs, Outputs> {
  const load = async (): Promise<{ ops: HubResourceOps<Inputs, Outputs>; connect: Connect }> => {
    const { resourceOps } = (await import(opsModule)) as { resourceOps: HubResourceOps<Inputs, Outputs> };
    // A CommonJS package whose exports Node cannot name statically: take the default export.
    const { Registry } = (await import("azure-iothub")).default;
    return { ops: resourceOps, connect: (connectionString) => Registry.fromConnectionString(connectionString) };
  };
  return {
    async diff(_id, olds, news) {
      return (await load()).ops.diff(olds, news);
    },
    async create(inputs) {
      const { ops, connect } = await load();
      return ops.create(connect, inputs);
    },
    async update(id, olds, news) {
      const { ops, connect } = await load();
      return { outs: await ops.update(connect, id, olds, news) };
    },
    async delete(id, props) {
      const { ops, connect } = await load();
      await ops.delete(connect, id, props);
    },
  };
}
