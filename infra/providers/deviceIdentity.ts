import * as pulumi from "@pulumi/pulumi";
import type { DeviceIdentityInputs, DeviceIdentityOutputs, TagValue } from "./deviceIdentityOps.ts";

/**
 * Pulumi serialises a dynamic provider's methods into the state. Each imports its operations by
 * package name when it runs (the SDK likewise), so nothing but this string is captured, and the
 * provider keeps working after the repository moves.
 */
const OPS = "@edgek8s/infra/providers/deviceIdentityOps.ts";

type Ops = typeof import("./deviceIdentityOps.ts");

async function load(): Promise<{ ops: Ops; registry: (cs: string) => import("azure-iothub").Registry }> {
  const ops = (await import(OPS)) as Ops;
  // A CommonJS package whose exports Node cannot name statically: take the default export.
  const { Registry } = (await import("azure-iothub")).default;
  return { ops, registry: (cs) => Registry.fromConnectionString(cs) };
}

const provider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: DeviceIdentityOutputs, news: DeviceIdentityInputs) {
    const ops = (await import(OPS)) as Ops;
    return ops.diffDeviceIdentity(olds, news);
  },
  async create(inputs: DeviceIdentityInputs) {
    const { ops, registry } = await load();
    const outs = await ops.createDevice(registry(inputs.hubConnectionString), inputs);
    return { id: inputs.deviceId, outs };
  },
  async update(_id: string, _olds: DeviceIdentityOutputs, news: DeviceIdentityInputs) {
    const { ops, registry } = await load();
    return { outs: await ops.updateDevice(registry(news.hubConnectionString), news) };
  },
  async delete(_id: string, props: DeviceIdentityOutputs) {
    const { ops, registry } = await load();
    await ops.deleteDevice(registry(props.hubConnectionString), props.deviceId);
  },
};

export interface DeviceIdentityArgs {
  readonly hubConnectionString: pulumi.Input<string>;
  readonly hubHostName: pulumi.Input<string>;
  readonly deviceId: pulumi.Input<string>;
  readonly tags?: pulumi.Input<Record<string, TagValue>>;
}

/** Keys and connection strings that never leave the state unencrypted. */
export const DEVICE_IDENTITY_SECRETS = ["hubConnectionString", "primaryKey", "secondaryKey", "connectionString"];

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
        hubHostName: args.hubHostName,
        deviceId: args.deviceId,
        tags: args.tags ?? {},
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
