import type { Registry } from "azure-iothub";

/**
 * The work behind the `DeviceIdentity` dynamic resource: an IoT Edge device identity in IoT Hub's
 * registry, through the `azure-iothub` service SDK (no Pulumi or Terraform resource exists for it).
 * IoT Hub facts honoured: create answers 409 when the device exists; update is a full replace, so
 * always get → modify → update; tags live on the twin, at most 8 KB.
 */

export type TagValue = string | number | boolean;

export interface DeviceIdentityInputs {
  /** A registryReadWrite connection string for the hub; a secret. */
  readonly hubConnectionString: string;
  readonly hubHostName: string;
  readonly deviceId: string;
  readonly tags: Record<string, TagValue>;
}

export interface DeviceIdentityOutputs extends DeviceIdentityInputs {
  readonly primaryKey: string;
  readonly secondaryKey: string;
  /** `HostName=…;DeviceId=…;SharedAccessKey=…`, the device's own credentials; a secret. */
  readonly connectionString: string;
  readonly generationId: string;
}

export type RegistryFactory = (hubConnectionString: string) => Registry;

export function deviceConnectionString(hubHostName: string, deviceId: string, key: string): string {
  return `HostName=${hubHostName};DeviceId=${deviceId};SharedAccessKey=${key}`;
}

export function diffDeviceIdentity(
  olds: DeviceIdentityInputs,
  news: DeviceIdentityInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const replaces = (["deviceId", "hubHostName"] as const).filter((k) => olds[k] !== news[k]);
  const changes =
    replaces.length > 0 ||
    olds.hubConnectionString !== news.hubConnectionString ||
    JSON.stringify(olds.tags) !== JSON.stringify(news.tags);
  // The same id on the same hub cannot exist twice.
  return { changes, replaces, deleteBeforeReplace: !replaces.includes("deviceId") };
}

/** The twin patch that turns `before` tags into `after`: removed tags are set to null. */
export function tagsPatch(before: Record<string, unknown>, after: Record<string, TagValue>): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...after };
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  return patch;
}

function statusOf(error: unknown): number | undefined {
  return (error as { response?: { statusCode?: number } } | undefined)?.response?.statusCode;
}

function describe(error: unknown, deviceId: string, action: string): Error {
  const status = statusOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  return new Error(
    `IoT Hub refused to ${action} device "${deviceId}"${status ? ` (${String(status)})` : ""}: ${detail}`,
    {
      cause: error,
    },
  );
}

interface DeviceKeys {
  authentication?: { symmetricKey?: { primaryKey?: string; secondaryKey?: string } };
  generationId?: string;
}

function outputsFrom(inputs: DeviceIdentityInputs, device: DeviceKeys): DeviceIdentityOutputs {
  const primaryKey = device.authentication?.symmetricKey?.primaryKey ?? "";
  const secondaryKey = device.authentication?.symmetricKey?.secondaryKey ?? "";
  if (primaryKey === "") throw new Error(`IoT Hub returned no symmetric key for device "${inputs.deviceId}"`);
  return {
    ...inputs,
    primaryKey,
    secondaryKey,
    connectionString: deviceConnectionString(inputs.hubHostName, inputs.deviceId, primaryKey),
    generationId: device.generationId ?? "",
  };
}

async function applyTags(registry: Registry, inputs: DeviceIdentityInputs): Promise<void> {
  const { responseBody: twin } = await registry.getTwin(inputs.deviceId);
  const current = (twin as unknown as { tags?: Record<string, unknown> }).tags ?? {};
  const patch = tagsPatch(current, inputs.tags);
  if (JSON.stringify(current) === JSON.stringify(inputs.tags)) return;
  await registry.updateTwin(inputs.deviceId, { tags: patch }, "*");
}

/**
 * Creates the identity with IoT Edge capability and hub-generated SAS keys, then sets its twin tags.
 * A device that already exists is an error: the stack must not take over an identity it did not make.
 */
export async function createDevice(registry: Registry, inputs: DeviceIdentityInputs): Promise<DeviceIdentityOutputs> {
  let created: DeviceKeys;
  try {
    const { responseBody } = await registry.create({
      deviceId: inputs.deviceId,
      status: "enabled",
      capabilities: { iotEdge: true },
      authentication: { type: "sas", symmetricKey: { primaryKey: "", secondaryKey: "" } },
    });
    created = responseBody;
  } catch (error) {
    if (statusOf(error) === 409) {
      throw new Error(
        `device "${inputs.deviceId}" already exists in ${inputs.hubHostName} and was not made by this stack; ` +
          `import it (pulumi import) or delete it first`,
        { cause: error },
      );
    }
    throw describe(error, inputs.deviceId, "create");
  }
  try {
    await applyTags(registry, inputs);
  } catch (error) {
    throw describe(error, inputs.deviceId, "set the twin tags of");
  }
  return outputsFrom(inputs, created);
}

/** Keeps the identity an IoT Edge device (get → modify → update: update is a full replace) and syncs tags. */
export async function updateDevice(registry: Registry, inputs: DeviceIdentityInputs): Promise<DeviceIdentityOutputs> {
  try {
    const { responseBody: device } = await registry.get(inputs.deviceId);
    let current = device as unknown as DeviceKeys & { capabilities?: { iotEdge?: boolean } };
    if (current.capabilities?.iotEdge !== true) {
      const { responseBody } = await registry.update({
        ...(device as unknown as Record<string, unknown>),
        deviceId: inputs.deviceId,
        capabilities: { iotEdge: true },
      });
      current = responseBody;
    }
    await applyTags(registry, inputs);
    return outputsFrom(inputs, current);
  } catch (error) {
    throw describe(error, inputs.deviceId, "update");
  }
}

/** Deletes the identity; one that is already gone is success. */
export async function deleteDevice(registry: Registry, deviceId: string): Promise<void> {
  try {
    await registry.delete(deviceId);
  } catch (error) {
    if (statusOf(error) !== 404) throw describe(error, deviceId, "delete");
  }
}
