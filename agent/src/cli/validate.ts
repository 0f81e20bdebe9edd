import { readJsonFile } from "./readManifest.ts";
import { InputError, parseCommandArgs, requireOne } from "./usage.ts";
import { formatIssue } from "../manifest/issues.ts";
import { parseManifest } from "../manifest/parse.ts";
import { translate } from "../translate/translate.ts";
import { translationDefaultsFrom, translationFlagOptions } from "./translationFlags.ts";

export const validateHelp = `Usage: edgek8s validate FILE [--parent-hostname HOST]

Checks an IoT Edge deployment manifest (IoT Hub's deployment.json, with "modulesContent", or the
modules content itself, with "$edgeAgent" and "$edgeHub") without touching any cluster: it accepts
what the IoT Edge runtime accepts, and refuses what the Kubernetes API server would refuse.

Prints one line per problem, starting with its JSON path, and exits 1 when the manifest is invalid.
Warnings (fields ignored or not honoured exactly on Kubernetes) go to stderr and do not fail.

Options:
  --parent-hostname HOST   nested IoT Edge: the parent device that $upstream in images stands for

Exit codes: 0 valid, 1 invalid manifest, 2 usage error (unknown flag, unreadable file or JSON).`;

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export async function validateCommand(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    "parent-hostname": translationFlagOptions["parent-hostname"],
  });
  if (values.help) {
    io.out(validateHelp);
    return 0;
  }
  const file = requireOne(positionals, "FILE (the deployment manifest)");
  const defaults = translationDefaultsFrom({ "parent-hostname": values["parent-hostname"] });
  const result = parseManifest(await readJsonFile(file), { parentHostname: defaults.parentHostname });
  if (!result.ok) {
    for (const w of result.warnings) io.err(`warning: ${formatIssue(w)}`);
    throw new InputError(result.issues.map(formatIssue));
  }
  // Translation warnings too, so `validate` tells everything `render` would.
  const ctx = { deviceId: "device", hubHostName: "hub", namespace: "validate", defaults };
  const warnings = [...result.warnings, ...translate(result.manifest, ctx).warnings];
  for (const w of warnings) io.err(`warning: ${formatIssue(w)}`);
  io.out(
    `${file}: valid (${result.manifest.modules.length} modules, ${result.manifest.edgeHub?.routes.length ?? 0} routes, ${warnings.length} warnings)`,
  );
  return 0;
}
