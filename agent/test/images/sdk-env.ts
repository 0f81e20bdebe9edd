// Builds a module client the way IoT Edge modules do, with the device SDK's
// ModuleClient.fromEnvironment: it reads EdgeHubConnectionString and, with EdgeModuleCACertificateFile,
// the CA it trusts edgeHub by. Logs what it found (never the key), then stays up.
import { ConnectionString } from "azure-iot-common";
import { ModuleClient } from "azure-iot-device";
import { Mqtt } from "azure-iot-device-mqtt";
import { readFileSync } from "node:fs";
import { logEvent } from "./log.ts";

try {
  await ModuleClient.fromEnvironment(Mqtt);
  const parsed = ConnectionString.parse(process.env["EdgeHubConnectionString"] ?? "");
  const caFile = process.env["EdgeModuleCACertificateFile"];
  logEvent("sdk-env", {
    ok: true,
    deviceId: parsed.DeviceId,
    moduleId: parsed.ModuleId,
    gatewayHostName: parsed.GatewayHostName,
    hasKey: typeof parsed.SharedAccessKey === "string" && parsed.SharedAccessKey.length > 0,
    caCertificate: caFile ? readFileSync(caFile, "utf8").includes("BEGIN CERTIFICATE") : false,
  });
} catch (error) {
  logEvent("sdk-env", { ok: false, error: (error as Error).message });
}
setInterval(() => undefined, 3_600_000);
