/** IoT Hub's rules for device ids: at most 128 ASCII letters, digits and `- . + % _ # * ? ! ( ) , : = @ $ '`. */
const DEVICE_ID = /^[A-Za-z0-9\-.+%_#*?!(),:=@$']{1,128}$/;
const HOST_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOST_NAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);

/** Why IoT Hub would reject this device id, or undefined when it is acceptable. */
export function deviceIdProblem(deviceId: string): string | undefined {
  if (deviceId.length === 0) return "must not be empty";
  if (deviceId.length > 128) return `is ${deviceId.length} characters; IoT Hub allows at most 128`;
  if (!DEVICE_ID.test(deviceId)) return "may only contain letters, digits and - . + % _ # * ? ! ( ) , : = @ $ '";
  return undefined;
}

/** Why this is not an IoT Hub host name (`my-hub.azure-devices.net`), or undefined. */
export function hostNameProblem(hostName: string): string | undefined {
  if (hostName.length === 0) return "must not be empty";
  if (hostName.length > 253 || !HOST_NAME.test(hostName))
    return "must be a DNS host name such as my-hub.azure-devices.net";
  return undefined;
}
