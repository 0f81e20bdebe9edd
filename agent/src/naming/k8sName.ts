import { createHash } from "node:crypto";

/** Longest DNS-1123/1035 label Kubernetes accepts for names and label values. */
export const MAX_LABEL_LENGTH = 63;
const HASH_LENGTH = 8;

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, HASH_LENGTH);
}

function trimToAlphanumericEnds(text: string): string {
  return text.replace(/^[^a-z0-9]+/, "").replace(/[^a-z0-9]+$/, "");
}

/**
 * The one sanitiser: turns any id (module id, volume source, registry name, device id) into a
 * DNS-1035 label — lowercase `[a-z0-9-]`, starting with a letter, ending alphanumeric, at most 63
 * characters. DNS-1035 (not only 1123) because the same name is used for the module's Service.
 * When the id must be shortened, or would otherwise be empty, a hash of the original id is
 * appended so that distinct ids stay distinct.
 */
export function k8sName(id: string): string {
  let name = trimToAlphanumericEnds(
    id
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/-{2,}/g, "-"),
  );
  if (name !== "" && !/^[a-z]/.test(name)) name = `m-${name}`;
  if (name === "") return `m-${shortHash(id)}`;
  if (name.length <= MAX_LABEL_LENGTH) return name;
  const head = trimToAlphanumericEnds(name.slice(0, MAX_LABEL_LENGTH - HASH_LENGTH - 1));
  return `${head}-${shortHash(id)}`;
}

/** The IoT Hub name is the first DNS label of its host name (`my-hub.azure-devices.net` → `my-hub`). */
export function hubName(hubHostName: string): string {
  return hubHostName.split(".")[0] ?? hubHostName;
}

/** The device's namespace, `msiot-<hub>-<device>`, sanitised as one name. */
export function deviceNamespace(hubHostName: string, deviceId: string): string {
  return k8sName(`msiot-${hubName(hubHostName)}-${deviceId}`);
}
