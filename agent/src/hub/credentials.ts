/**
 * Where a device's own IoT Hub credentials live in its namespace (hub mode). The Pulumi program
 * writes this Secret; the agent's hub bridge reads it. No hub-wide key ever reaches the edge.
 */
export const DEVICE_CREDENTIALS_SECRET = "edgek8s-device-credentials";
/** `HostName=…;DeviceId=…;SharedAccessKey=…` */
export const DEVICE_CONNECTION_STRING_KEY = "connectionString";
