// The real azure-iothub Registry, pointed at the hub double. The SDK signs, builds and sends every
// request itself; only the connection goes to the double's loopback port.
import iothub from "azure-iothub";
import type { HubDouble } from "./hubDouble.ts";
import { withHttpsOptions } from "../../src/hub/connector.ts";

export function registryFor(hub: HubDouble, connectionString = hub.policyConnectionString()): iothub.Registry {
  return withHttpsOptions(iothub.Registry.fromConnectionString(connectionString), { agent: hub.agent() });
}
