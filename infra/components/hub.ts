import * as pulumi from "@pulumi/pulumi";
import * as iothub from "@pulumi/azure-native/iothub/index.js";
import * as resources from "@pulumi/azure-native/resources/index.js";
import type { StackConfig } from "../config.ts";

/**
 * The shared access policies the program signs with, each for the calls its rights cover
 * (learn.microsoft.com, "Control access to IoT Hub with shared access signatures"): device identities
 * need RegistryRead + RegistryWrite, twin tags need ServiceConnect. Both are among the policies every
 * new hub has; the program declares no `authorizationPolicies`, which would replace those defaults.
 */
export const HUB_POLICIES = {
  registry: { keyName: "registryReadWrite", rights: ["RegistryRead", "RegistryWrite"] },
  twins: { keyName: "service", rights: ["ServiceConnect"] },
} as const;

export interface EdgeHubArgs {
  readonly hub: StackConfig["hub"];
}

/** Refuses a policy whose rights were changed so that it no longer covers the calls made with it. */
export function policyRightsProblem(
  keyName: string,
  needed: readonly string[],
  rights: string | undefined,
): string | undefined {
  const granted = (rights ?? "").split(",").map((r) => r.trim());
  const missing = needed.filter((r) => !granted.includes(r));
  return missing.length === 0
    ? undefined
    : `the IoT Hub's shared access policy ${keyName} lacks ${missing.join(", ")} (it has "${rights ?? ""}"); restore its default rights`;
}

/**
 * The IoT Hub: in `azure` mode a resource group and an IoT Hub (Free or Standard: Basic has no twins)
 * and the connection strings of its registryReadWrite and service policies, kept secret; in `none`
 * mode only the host name devices are named after.
 */
export class EdgeHub extends pulumi.ComponentResource {
  readonly hostName: pulumi.Output<string>;
  /** `registryReadWrite` connection string (secret) for device identities; undefined without Azure. */
  readonly registryConnectionString: pulumi.Output<string> | undefined;
  /** `service` connection string (secret) for twin tags; undefined without Azure. */
  readonly serviceConnectionString: pulumi.Output<string> | undefined;

  constructor(name: string, args: EdgeHubArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edgek8s:index:EdgeHub", name, {}, opts);
    const hub = args.hub;
    if (hub.mode === "none") {
      this.hostName = pulumi.output(hub.hostName);
      this.registryConnectionString = undefined;
      this.serviceConnectionString = undefined;
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
      const hostName = iotHub.properties.apply((p) => p.hostName);
      this.hostName = hostName;
      const connectionString = (policy: { keyName: string; rights: readonly string[] }) => {
        const key = iothub.listIotHubResourceKeysForKeyNameOutput(
          { keyName: policy.keyName, resourceGroupName: group.name, resourceName: iotHub.name },
          { parent: this },
        );
        return pulumi.secret(
          pulumi.all([hostName, key]).apply(([host, k]) => {
            const problem = policyRightsProblem(policy.keyName, policy.rights, k.rights);
            if (problem) throw new Error(problem);
            return `HostName=${host};SharedAccessKeyName=${policy.keyName};SharedAccessKey=${k.primaryKey ?? ""}`;
          }),
        );
      };
      this.registryConnectionString = connectionString(HUB_POLICIES.registry);
      this.serviceConnectionString = connectionString(HUB_POLICIES.twins);
    }
    this.registerOutputs({
      hostName: this.hostName,
      registryConnectionString: this.registryConnectionString,
      serviceConnectionString: this.serviceConnectionString,
    });
  }
}
