/** A device's own credentials, from `HostName=…;DeviceId=…;SharedAccessKey=…`. */
export interface DeviceCredentials {
  readonly hostName: string;
  readonly deviceId: string;
  readonly sharedAccessKey: string;
}

/** Parses a device connection string; the error names the missing part, never the key. */
export function parseDeviceConnectionString(text: string): DeviceCredentials {
  const parts = new Map<string, string>();
  for (const part of text.trim().split(";")) {
    const at = part.indexOf("=");
    if (at > 0) parts.set(part.slice(0, at), part.slice(at + 1));
  }
  const missing = ["HostName", "DeviceId", "SharedAccessKey"].filter((k) => !parts.get(k));
  if (missing.length > 0) throw new Error(`device connection string: missing ${missing.join(", ")}`);
  if (parts.has("ModuleId")) throw new Error("device connection string: has a ModuleId; expected the device's own");
  if (parts.has("SharedAccessKeyName"))
    throw new Error(
      "device connection string: is a hub policy's (SharedAccessKeyName); the edge holds only its device's key",
    );
  return {
    hostName: parts.get("HostName") ?? "",
    deviceId: parts.get("DeviceId") ?? "",
    sharedAccessKey: parts.get("SharedAccessKey") ?? "",
  };
}

export function moduleConnectionString(
  hostName: string,
  deviceId: string,
  moduleId: string,
  key: string,
  gatewayHostName?: string,
): string {
  return (
    `HostName=${hostName};DeviceId=${deviceId};ModuleId=${moduleId};SharedAccessKey=${key}` +
    (gatewayHostName !== undefined ? `;GatewayHostName=${gatewayHostName}` : "")
  );
}
