// The edge of the hub bridge: IoT Hub's SDKs. The device SDK (MQTT, or MQTT over WebSockets on 443)
// for the `$edgeAgent` module twin; the service SDK's Registry, authorised by the device's own key,
// for the module identities under the device. SDKs are loaded only when a device bridge starts.
import type { ModuleClient } from "azure-iot-device";
import type { Registry } from "azure-iothub";
import type { DeviceCredentials } from "./connectionString.ts";

export type Transport = "mqtt" | "mqtt-ws";

export interface HubConnector {
  /** A module client (not yet open) for a module connection string. */
  moduleClient(connectionString: string): Promise<ModuleClient>;
  /** A registry client whose requests are signed with the device's own key (valid one hour). */
  deviceRegistry(credentials: DeviceCredentials): Promise<Registry>;
}

const TOKEN_SECONDS = 3600;

/** A device-scoped shared access signature, signed over the URL-encoded resource as IoT Hub checks it. */
export async function deviceSas(credentials: DeviceCredentials, nowMs = Date.now()): Promise<string> {
  const { SharedAccessSignature } = (await import("azure-iothub")).default;
  const resource = encodeURIComponent(`${credentials.hostName}/devices/${credentials.deviceId}`);
  const expiry = Math.ceil(nowMs / 1000) + TOKEN_SECONDS;
  return SharedAccessSignature.create(
    resource,
    undefined as unknown as string,
    credentials.sharedAccessKey,
    expiry,
  ).toString();
}

export interface ConnectorOptions {
  readonly transport: Transport;
  /** Extra SDK options: a CA to trust, or an HTTPS agent (tests point it at a local hub double). */
  readonly ca?: string | undefined;
  readonly agent?: import("node:https").Agent | undefined;
}

export function sdkConnector(options: ConnectorOptions): HubConnector {
  return {
    async moduleClient(connectionString) {
      const { ModuleClient } = (await import("azure-iot-device")).default;
      const mqtt = (await import("azure-iot-device-mqtt")).default;
      const { NoRetry } = (await import("azure-iot-common")).default;
      const client = ModuleClient.fromConnectionString(
        connectionString,
        options.transport === "mqtt-ws" ? mqtt.MqttWs : mqtt.Mqtt,
      );
      // The bridge reconnects itself, with its own backoff, and fetches the whole twin every time;
      // the SDK's silent reconnects would let patches sent meanwhile go missing.
      client.setRetryPolicy(new NoRetry());
      if (options.ca !== undefined || options.agent !== undefined) {
        await client.setOptions({
          ...(options.ca !== undefined ? { ca: options.ca } : {}),
          ...(options.agent !== undefined ? { mqtt: { webSocketAgent: options.agent } } : {}),
        });
      }
      return client;
    },
    async deviceRegistry(credentials) {
      const { Registry } = (await import("azure-iothub")).default;
      const registry = new Registry({
        host: credentials.hostName,
        sharedAccessSignature: await deviceSas(credentials),
      });
      withHttpsOptions(registry, options);
      return registry;
    },
  };
}

/**
 * Gives a Registry the HTTPS options (an agent, a CA) its REST client takes: Registry itself has no
 * public setter for them.
 */
export function withHttpsOptions(
  registry: Registry,
  options: { readonly agent?: import("node:https").Agent | undefined; readonly ca?: string | undefined },
): Registry {
  if (options.agent === undefined && options.ca === undefined) return registry;
  (registry as unknown as { _restApiClient: { setOptions(o: object): void } })._restApiClient.setOptions({
    ...(options.agent !== undefined ? { http: { agent: options.agent } } : {}),
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
  });
  return registry;
}
