import * as pulumi from "@pulumi/pulumi";
import type { DeviceIdentityInputs, DeviceIdentityOutputs, Registries, TagValue } from "./deviceIdentityOps.ts";

/**
 * Pulumi serialises a dynamic provider's methods into the state. Each imports its operations by
 * package name when it runs (the SDK likewise), so nothing but this string is captured, and the
 * provider keeps working after the repository moves.
 */
const OPS = "@edgek8s/infra/providers/deviceIdentityOps.ts";

type Ops = typeof import("./deviceIdentityOps.ts");

/** The ops, and a client per key: the identity registry with one, twin tags with the other. */
async function load(inputs: DeviceIdentityInputs): Promise<{ ops: Ops; clients: Registries }> {
  const ops = (await import(OPS)) as Ops;
  // A CommonJS package whose exports Node cannot name statically: take the default export.
  const { Registry } = (await import("azure-iothub")).default;
  return {
    ops,
    clients: {
      registry: Registry.fromConnectionString(inputs.hubConnectionString),
      twins: Registry.fromConnectionString(inputs.twinConnectionString),
    },
  };
}

const provider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: DeviceIdentityOutputs, news: DeviceIdentityInputs) {
    const ops = (await import(OPS)) as Ops;
    return ops.diffDeviceIdentity(olds, news);
  },
  async create(inputs: DeviceIdentityInputs) {
    const { ops, clients } = await load(inputs);
    const outs = await ops.createDevice(clients, inputs);
    return { id: inputs.deviceId, outs };
  },
  async update(_id: string, olds: DeviceIdentityOutputs, news: DeviceIdentityInputs) {
    const { ops, clients } = await load(news);
    return { outs: await ops.updateDevice(clients, olds, news) };
  },
  async delete(_id: string, props: DeviceIdentityOutputs) {
    const { ops, clients } = await load(props);
    await ops.deleteDevice(clients.registry, props.deviceId);
  },
};

export interface DeviceIdentityArgs {
  /** registryReadWrite connection string: the identity registry (RegistryRead + RegistryWrite). */
  readonly hubConnectionString: pulumi.Input<string>;
  /** service connection string: the twin's tags (ServiceConnect). */
  readonly twinConnectionString: pulumi.Input<string>;
  readonly hubHostName: pulumi.Input<string>;
  readonly deviceId: pulumi.Input<string>;
  readonly tags?: pulumi.Input<Record<string, TagValue>>;
}

/** Keys and connection strings that never leave the state unencrypted. */
export const DEVICE_IDENTITY_SECRETS = [
  "hubConnectionString",
  "twinConnectionString",
  "primaryKey",
  "secondaryKey",
  "connectionString",
];

/** An IoT Edge device identity in IoT Hub, with hub-generated SAS keys and twin tags. */
export class DeviceIdentity extends pulumi.dynamic.Resource {
  declare readonly deviceId: pulumi.Output<string>;
  declare readonly primaryKey: pulumi.Output<string>;
  declare readonly secondaryKey: pulumi.Output<string>;
  declare readonly connectionString: pulumi.Output<string>;
  declare readonly generationId: pulumi.Output<string>;

  constructor(name: string, args: DeviceIdentityArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      {
        hubConnectionString: pulumi.secret(args.hubConnectionString),
        twinConnectionString: pulumi.secret(args.twinConnectionString),
        hubHostName: args.hubHostName,
        deviceId: args.deviceId,
        tags: args.tags ?? {},
        // Marks the identity as this stack's, so a run that fails between create and tags is adopted.
        owner: `${pulumi.getProject()}/${pulumi.getStack()}`,
        primaryKey: undefined,
        secondaryKey: undefined,
        connectionString: undefined,
        generationId: undefined,
      },
      { ...opts, additionalSecretOutputs: DEVICE_IDENTITY_SECRETS },
      "edgek8s",
      "DeviceIdentity",
    );
  }
}
