// The real azure-iothub Registry, pointed at the hub double. The SDK signs, builds and sends every
// request itself; only the connection goes to the double's loopback port.
import iothub from "azure-iothub";
import type { HubDouble } from "./hubDouble.ts";
import { withHttpsOptions } from "../../src/hub/connector.ts";

/** A Registry signed with a shared access policy's key (registryReadWrite unless named) or a connection string. */
export function registryFor(hub: HubDouble, policyOrConnectionString = "registryReadWrite"): iothub.Registry {
  const cs = policyOrConnectionString.includes("=")
    ? policyOrConnectionString
    : hub.policyConnectionString(policyOrConnectionString);
  return withHttpsOptions(iothub.Registry.fromConnectionString(cs), { agent: hub.agent() });
}
