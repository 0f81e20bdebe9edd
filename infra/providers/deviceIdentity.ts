import * as pulumi from "@pulumi/pulumi";
import type { DeviceIdentityInputs, DeviceIdentityOutputs, TagValue } from "./deviceIdentityOps.ts";
import { hubProvider } from "./hubProvider.ts";

/** Its work is deviceIdentityOps.ts, loaded by package name when a method runs (hubProvider.ts). */
const provider = hubProvider<DeviceIdentityInputs, DeviceIdentityOutputs>(
  "@edgek8s/infra/providers/deviceIdentityOps.ts",
);

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
