import type { Registry } from "azure-iothub";
import { canonicalJson } from "@edgek8s/agent";
import { type TagValue, formatTagProblems, tagProblems } from "./deviceTags.ts";
import type { Connect, HubResourceOps } from "./hubProvider.ts";

export type { TagValue } from "./deviceTags.ts";

/**
 * The work behind the `DeviceIdentity` dynamic resource: an IoT Edge device identity in IoT Hub's
 * registry, through the `azure-iothub` service SDK (no Pulumi or Terraform resource exists for it).
 * IoT Hub facts honoured:
 * - each call is signed with a key that has the right it needs: the identity registry with a
 *   RegistryRead + RegistryWrite policy (`registryReadWrite`), twin tags with a ServiceConnect one
 *   (`service`): "ServiceConnect … Access twins to update tags" (learn.microsoft.com, "Control access
 *   to IoT Hub with shared access signatures");
 * - create answers 409 when the device exists; update is a full replace, so get → modify → update;
 * - tags live on the twin (≤ 8 KB, IoT Hub's key rules, deviceTags.ts) and are written with the twin's
 *   etag, so a change made in between is read again rather than overwritten;
 * - the device and its tags cannot be written in one call: the identity carries this stack's mark in
 *   `statusReason` from its creation, so a device left untagged by a failed run is adopted by the next
 *   run of the same stack, and a device someone else made is still refused.
 */

export interface DeviceIdentityInputs {
  /** A registryReadWrite connection string (RegistryRead + RegistryWrite): the identity; a secret. */
  readonly hubConnectionString: string;
  /** A service connection string (ServiceConnect): the twin's tags; a secret. */
  readonly twinConnectionString: string;
  readonly hubHostName: string;
  readonly deviceId: string;
  readonly tags: Record<string, TagValue>;
  /** `<project>/<stack>`: whose device this is. */
  readonly owner: string;
}

export interface DeviceIdentityOutputs extends DeviceIdentityInputs {
  readonly primaryKey: string;
  readonly secondaryKey: string;
  /** `HostName=…;DeviceId=…;SharedAccessKey=…`, the device's own credentials; a secret. */
  readonly connectionString: string;
  readonly generationId: string;
}

/** The two clients a call needs: one per key. */
export interface Registries {
  readonly registry: Registry;
  readonly twins: Registry;
}

/** What `statusReason` says of a device this stack made (IoT Hub allows 128 characters). */
export function ownerMark(owner: string): string {
  return `made by edgek8s stack ${owner}`.slice(0, 128);
}

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
    olds.twinConnectionString !== news.twinConnectionString ||
    olds.owner !== news.owner ||
    JSON.stringify(olds.tags) !== JSON.stringify(news.tags);
  // The same id on the same hub cannot exist twice.
  return { changes, replaces, deleteBeforeReplace: !replaces.includes("deviceId") };
}

function statusOf(error: unknown): number | undefined {
  return (error as { response?: { statusCode?: number } } | undefined)?.response?.statusCode;
}

function describe(error: unknown, deviceId: string, action: string, after = ""): Error {
  const status = statusOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  return new Error(
    `IoT Hub refused to ${action} device "${deviceId}"${status ? ` (${String(status)})` : ""}: ${detail}${after}`,
    { cause: error },
  );
}

interface DeviceBody {
  authentication?: { symmetricKey?: { primaryKey?: string; secondaryKey?: string } };
  generationId?: string;
  statusReason?: string;
  capabilities?: { iotEdge?: boolean };
}

function outputsFrom(inputs: DeviceIdentityInputs, device: DeviceBody): DeviceIdentityOutputs {
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

function checkTags(inputs: DeviceIdentityInputs): void {
  const problems = tagProblems(inputs.tags);
  if (problems.length > 0) throw new Error(`device "${inputs.deviceId}": ${formatTagProblems(problems)}`);
}

const TAG_ATTEMPTS = 4;

/**
 * Sets the tags this stack wants and removes those it set before and no longer wants; tags someone
 * else set are left alone. The patch goes with the etag it was computed from; on 412 it is computed again.
 */
async function applyTags(
  twins: Registry,
  deviceId: string,
  managedBefore: Readonly<Record<string, TagValue>>,
  wanted: Readonly<Record<string, TagValue>>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const { responseBody: twin } = await twins.getTwin(deviceId);
    const current = (twin as unknown as { tags?: Record<string, unknown> }).tags ?? {};
    const patch: Record<string, unknown> = {};
    const same = (a: unknown, b: TagValue) => canonicalJson(a) === canonicalJson(b);
    for (const [key, value] of Object.entries(wanted)) if (!same(current[key] ?? null, value)) patch[key] = value;
    for (const key of Object.keys(managedBefore)) if (!(key in wanted) && key in current) patch[key] = null;
    if (Object.keys(patch).length === 0) return;
    try {
      await twins.updateTwin(deviceId, { tags: patch }, twin.etag);
      return;
    } catch (error) {
      if (statusOf(error) !== 412 || attempt >= TAG_ATTEMPTS) throw error;
    }
  }
}

/** The existing device, when this stack made it (its mark); undefined when it is someone else's. */
async function ownDevice(registry: Registry, inputs: DeviceIdentityInputs): Promise<DeviceBody | undefined> {
  const { responseBody } = await registry.get(inputs.deviceId);
  const device = responseBody as unknown as DeviceBody;
  return device.statusReason === ownerMark(inputs.owner) ? device : undefined;
}

/**
 * Creates the identity with IoT Edge capability, hub-generated SAS keys and this stack's mark, then
 * sets its twin tags. A device that already exists is refused unless it carries this stack's mark.
 * If tagging fails, the device just made is deleted again; if even that fails, the mark lets the next
 * run adopt it.
 */
export async function createDevice(clients: Registries, inputs: DeviceIdentityInputs): Promise<DeviceIdentityOutputs> {
  checkTags(inputs);
  const { registry, twins } = clients;
  let device: DeviceBody;
  let made = true;
  try {
    const { responseBody } = await registry.create({
      deviceId: inputs.deviceId,
      status: "enabled",
      statusReason: ownerMark(inputs.owner),
      capabilities: { iotEdge: true },
      authentication: { type: "sas", symmetricKey: { primaryKey: "", secondaryKey: "" } },
    });
    device = responseBody;
  } catch (error) {
    if (statusOf(error) !== 409) throw describe(error, inputs.deviceId, "create");
    const own = await ownDevice(registry, inputs).catch((e: unknown) => {
      throw describe(e, inputs.deviceId, "read");
    });
    if (!own) {
      throw new Error(
        `device "${inputs.deviceId}" already exists in ${inputs.hubHostName} and was not made by this stack; ` +
          `import it (pulumi import) or delete it first`,
        { cause: error },
      );
    }
    device = own;
    made = false;
  }
  try {
    await applyTags(twins, inputs.deviceId, {}, inputs.tags);
  } catch (error) {
    let after = "; the device stays marked as this stack's and the next run adopts it";
    if (made) {
      const undone = await deleteDevice(registry, inputs.deviceId).then(
        () => true,
        () => false,
      );
      if (undone) after = "; the device was deleted again, nothing is left behind";
    }
    throw describe(error, inputs.deviceId, "set the twin tags of", after);
  }
  if (!made && device.capabilities?.iotEdge !== true) return updateDevice(clients, { tags: inputs.tags }, inputs);
  return outputsFrom(inputs, device);
}

/**
 * Keeps the identity an IoT Edge device (get → modify → update: update is a full replace) and moves
 * the tags this stack manages from `olds.tags` to `news.tags`.
 */
export async function updateDevice(
  clients: Registries,
  olds: Pick<DeviceIdentityInputs, "tags">,
  news: DeviceIdentityInputs,
): Promise<DeviceIdentityOutputs> {
  checkTags(news);
  const { registry, twins } = clients;
  try {
    const { responseBody } = await registry.get(news.deviceId);
    let current = responseBody as unknown as DeviceBody;
    if (current.capabilities?.iotEdge !== true) {
      const { responseBody: updated } = await registry.update({
        ...(responseBody as unknown as Record<string, unknown>),
        deviceId: news.deviceId,
        capabilities: { iotEdge: true },
      });
      current = updated;
    }
    await applyTags(twins, news.deviceId, olds.tags, news.tags);
    return outputsFrom(news, current);
  } catch (error) {
    throw describe(error, news.deviceId, "update");
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

const registries = (connect: Connect, inputs: DeviceIdentityInputs): Registries => ({
  registry: connect(inputs.hubConnectionString),
  twins: connect(inputs.twinConnectionString),
});

/** What the `DeviceIdentity` provider runs (hubProvider.ts): the identity with one key, its tags with the other. */
export const resourceOps: HubResourceOps<DeviceIdentityInputs, DeviceIdentityOutputs> = {
  diff: diffDeviceIdentity,
  async create(connect, inputs) {
    return { id: inputs.deviceId, outs: await createDevice(registries(connect, inputs), inputs) };
  },
  update: (connect, _id, olds, news) => updateDevice(registries(connect, news), olds, news),
  delete: (connect, _id, props) => deleteDevice(connect(props.hubConnectionString), props.deviceId),
};
