// The real azure-iothub Registry, pointed at the hub double. The SDK signs, builds and sends every
// request itself; only the connection goes to the double's loopback port, through the RestApiClient's
// own `http.agent` option (Registry has no public setter for it).
import iothub from "azure-iothub";
import type { HubDouble } from "./hubDouble.ts";

export function registryFor(hub: HubDouble, connectionString = hub.policyConnectionString()): iothub.Registry {
  const registry = iothub.Registry.fromConnectionString(connectionString);
  (registry as unknown as { _restApiClient: { setOptions(options: object): void } })._restApiClient.setOptions({
    http: { agent: hub.agent() },
  });
  return registry;
}
