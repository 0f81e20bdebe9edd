// Runs Pulumi program code under pulumi.runtime.setMocks and records every registration as the
// engine would see it: type, name, parent, dependencies and which inputs are secret.
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings.js";

/** Resolves when the SDK has no RPC in flight (internal to @pulumi/pulumi, stable since 3.0). */
const internals = settings as unknown as Record<string, unknown>;
const waitForRPCs = (): Promise<void> => (internals["waitForRPCs"] as () => Promise<void>)();
const { getMonitor } = settings;

/** How the SDK marks a secret value on the wire. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface Registered {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent: string;
  readonly dependencies: readonly string[];
  /** Inputs with secrets unwrapped. */
  readonly inputs: Record<string, unknown>;
  /** Top-level inputs the program sent as secrets. */
  readonly secretInputs: readonly string[];
  /** Every input path (`stringData.connectionString`) the program sent as a secret, at any depth. */
  readonly secretPaths: readonly string[];
  /** The provider reference (`urn::id`), empty for the default provider. */
  readonly provider: string;
}

export interface Invoke {
  readonly token: string;
  readonly inputs: Record<string, unknown>;
}

interface WireRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getProvider(): string;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}

function isSecretWire(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

function secretPathsOf(value: unknown, path: string): string[] {
  if (isSecretWire(value)) return [path];
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => secretPathsOf(v, path === "" ? k : `${path}.${k}`));
}

function unwrap(value: unknown): unknown {
  if (isSecretWire(value)) return unwrap((value as { value: unknown }).value);
  if (Array.isArray(value)) return value.map(unwrap);
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
  return value;
}

/** A new IoT Hub's default shared access policies and their rights, as listKeys reports them. */
const POLICY_RIGHTS: Record<string, string> = {
  iothubowner: "RegistryRead, RegistryWrite, ServiceConnect, DeviceConnect",
  service: "ServiceConnect",
  device: "DeviceConnect",
  registryRead: "RegistryRead",
  registryReadWrite: "RegistryRead, RegistryWrite",
};

/** Mocked state: inputs echoed, plus what real providers would add (keys, host names). */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  if (type === "azure-native:iothub:IotHubResource") {
    return { ...inputs, properties: { hostName: `${String(inputs["resourceName"])}.azure-devices.net` } };
  }
  if (type === "pulumi-nodejs:dynamic/edgek8s:DeviceIdentity") {
    const key = Buffer.from(`key-of-${name}`).toString("base64");
    return {
      ...inputs,
      primaryKey: key,
      secondaryKey: key,
      generationId: "638000000000000000",
      connectionString: `HostName=${String(inputs["hubHostName"])};DeviceId=${String(inputs["deviceId"])};SharedAccessKey=${key}`,
    };
  }
  if (type === "pulumi-nodejs:dynamic/edgek8s:EdgeTrack") {
    const id = `ek8s-${String(inputs["track"])}-000000000001`;
    return { ...inputs, releaseId: id, stableId: id, candidateId: "", releases: [] };
  }
  return inputs;
}

/**
 * Runs `program` under mocks. One run per process: a second setMocks would orphan the first run's
 * late RPCs (node --test gives each test file its own process).
 */
export async function runMocked<T>(
  program: () => T,
): Promise<{ result: T; resources: Registered[]; invokes: Invoke[] }> {
  const resources: Registered[] = [];
  const invokes: Invoke[] = [];
  pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        state: mockState(args.type, args.name, args.inputs as Record<string, unknown>),
      }),
      call: (args) => {
        invokes.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
        if (args.token === "azure-native:iothub:listIotHubResourceKeysForKeyName") {
          const keyName = String((args.inputs as Record<string, unknown>)["keyName"]);
          return {
            keyName,
            primaryKey: Buffer.from(`key-of-${keyName}`).toString("base64"),
            rights: POLICY_RIGHTS[keyName],
          };
        }
        return {};
      },
    },
    "edgek8s",
    "test",
  );
  const monitor = getMonitor() as unknown as {
    registerResource(req: WireRequest, callback: (err: unknown, res?: { getUrn(): string }) => void): Promise<void>;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const wire = req.getObject()?.toJavaScript() ?? {};
    return original(req, (err, res) => {
      if (!err && res) {
        resources.push({
          urn: res.getUrn(),
          type: req.getType(),
          name: req.getName(),
          parent: req.getParent(),
          dependencies: req.getDependenciesList(),
          provider: req.getProvider(),
          inputs: unwrap(wire) as Record<string, unknown>,
          secretInputs: Object.entries(wire)
            .filter(([, v]) => isSecretWire(v))
            .map(([k]) => k),
          secretPaths: secretPathsOf(wire, ""),
        });
      }
      callback(err, res);
    });
  };
  const result = program();
  await waitForRPCs();
  return { result, resources, invokes };
}

export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}
