import * as pulumi from "@pulumi/pulumi";
import * as iothub from "@pulumi/azure-native/iothub/index.js";
import * as resources from "@pulumi/azure-native/resources/index.js";
import type { StackConfig } from "../config.ts";

/** The least-privileged shared access policy the program needs: device identities only. */
export const REGISTRY_POLICY = "registryReadWrite";

export interface EdgeHubArgs {
  readonly hub: StackConfig["hub"];
}

/**
 * The IoT Hub: in `azure` mode a resource group and an IoT Hub (Free or Standard: Basic has no twins)
 * and its registryReadWrite key, kept secret; in `none` mode only the host name devices are named after.
 */
export class EdgeHub extends pulumi.ComponentResource {
  readonly hostName: pulumi.Output<string>;
  /** `registryReadWrite` connection string (secret); undefined without Azure. */
  readonly registryConnectionString: pulumi.Output<string> | undefined;

  constructor(name: string, args: EdgeHubArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edgek8s:index:EdgeHub", name, {}, opts);
    const hub = args.hub;
    if (hub.mode === "none") {
      this.hostName = pulumi.output(hub.hostName);
      this.registryConnectionString = undefined;
    } else {
      const group = new resources.ResourceGroup(
        `${name}-rg`,
        { resourceGroupName: hub.resourceGroup, location: hub.location },
        { parent: this },
      );
      const iotHub = new iothub.IotHubResource(
        `${name}-iothub`,
        {
          resourceName: hub.name,
          resourceGroupName: group.name,
          location: hub.location,
          sku: { name: hub.sku, capacity: hub.capacity },
        },
        { parent: this },
      );
      this.hostName = iotHub.properties.apply((p) => p.hostName);
      const key = iothub.listIotHubResourceKeysForKeyNameOutput(
        { keyName: REGISTRY_POLICY, resourceGroupName: group.name, resourceName: iotHub.name },
        { parent: this },
      );
      this.registryConnectionString = pulumi.secret(
        pulumi.interpolate`HostName=${this.hostName};SharedAccessKeyName=${REGISTRY_POLICY};SharedAccessKey=${key.apply((k) => k.primaryKey ?? "")}`,
      );
    }
    this.registerOutputs({ hostName: this.hostName, registryConnectionString: this.registryConnectionString });
  }
}
