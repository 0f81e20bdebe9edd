import { stringify } from "yaml";
import { readJsonFile } from "./readManifest.ts";
import { translationDefaultsFrom, translationFlagHelp, translationFlagOptions } from "./translationFlags.ts";
import { UsageError, oneOf, parseCommandArgs, requireOne, requireString } from "./usage.ts";
import type { Io } from "./validate.ts";
import { formatIssue } from "../manifest/issues.ts";
import { parseManifest } from "../manifest/parse.ts";
import { deviceIdProblem, hostNameProblem } from "../naming/ids.ts";
import { deviceNamespace } from "../naming/k8sName.ts";
import { type ManagedObject, translate } from "../translate/translate.ts";

export const renderHelp = `Usage: edgek8s render FILE --device ID --hub HOSTNAME [options]

Prints the Kubernetes objects the Edge Agent makes for one device from an IoT Edge deployment
manifest, in apply order, in the device's namespace msiot-<hub>-<device>. Nothing is applied.

Options:
  --device ID              IoT Edge device id (required)
  --hub HOSTNAME           IoT Hub host name, e.g. my-hub.azure-devices.net (required)
  -o, --output FORMAT      yaml (multi-document, default) or json (a v1 List)
${translationFlagHelp}
  --show-secrets           print Secret data; by default it is replaced by "REDACTED"
  -h, --help               show this help

Warnings (fields ignored or not honoured exactly) and problems go to stderr; stdout has only objects.
Exit codes: 0 rendered, 1 invalid manifest, 2 usage error.`;

const REDACTED = "REDACTED";

function redactSecrets(objects: readonly ManagedObject[]): ManagedObject[] {
  return objects.map((object) =>
    object.kind === "Secret" && "data" in object && object.data
      ? { ...object, data: Object.fromEntries(Object.keys(object.data).map((k) => [k, REDACTED])) }
      : object,
  );
}

export async function renderCommand(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    device: { type: "string" },
    hub: { type: "string" },
    output: { type: "string", short: "o" },
    ...translationFlagOptions,
    "show-secrets": { type: "boolean" },
  });
  if (values.help) {
    io.out(renderHelp);
    return 0;
  }
  const file = requireOne(positionals, "FILE (the deployment manifest)");
  const deviceId = requireString(values.device, "device");
  const hubHostName = requireString(values.hub, "hub");
  const deviceProblem = deviceIdProblem(deviceId);
  if (deviceProblem) throw new UsageError(`--device ${deviceProblem}`);
  const hubProblem = hostNameProblem(hubHostName);
  if (hubProblem) throw new UsageError(`--hub ${hubProblem}`);
  const output = oneOf(values.output, "output", ["yaml", "json"] as const, "yaml");
  const defaults = translationDefaultsFrom(values);

  const parsed = parseManifest(await readJsonFile(file), { parentHostname: defaults.parentHostname });
  if (!parsed.ok) {
    // Problems on stderr only: stdout stays empty, so a pipe into kubectl apply gets nothing half-made.
    for (const w of parsed.warnings) io.err(`warning: ${formatIssue(w)}`);
    for (const i of parsed.issues) io.err(formatIssue(i));
    return 1;
  }
  const namespace = deviceNamespace(hubHostName, deviceId);
  const translation = translate(parsed.manifest, { deviceId, hubHostName, namespace, defaults });
  for (const w of [...parsed.warnings, ...translation.warnings]) io.err(`warning: ${formatIssue(w)}`);
  const hasSecrets = translation.objects.some((o) => o.kind === "Secret");
  const objects = values["show-secrets"] ? [...translation.objects] : redactSecrets(translation.objects);
  if (hasSecrets && !values["show-secrets"]) io.err("note: Secret data is REDACTED; pass --show-secrets to print it");
  io.out(
    output === "json"
      ? JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2)
      : objects.map((o) => stringify(o, { lineWidth: 0 }).trimEnd()).join("\n---\n"),
  );
  return 0;
}
