// The Pulumi program: read and validate the stack's inputs once, then declare the stack.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { readConfigValues } from "./config.ts";
import { loadStackInputs } from "./inputs.ts";
import { defineStack } from "./stack.ts";
import { useNativeStackTraces } from "./stackTraces.ts";

useNativeStackTraces();

/** Paths in the stack configuration are relative to the project root (where Pulumi.yaml is). */
const root = fileURLToPath(new URL("../", import.meta.url));
const loaded = loadStackInputs(
  readConfigValues(),
  root,
  (path) => (existsSync(path) ? readFileSync(path, "utf8") : undefined),
  process.env,
  `${pulumi.getProject()}.${pulumi.getStack()}`,
);
if (!loaded.ok) {
  throw new pulumi.RunError(
    `invalid stack configuration:\n${loaded.issues.map((i) => `  ${i.key}: ${i.message}`).join("\n")}`,
  );
}
for (const warning of loaded.inputs.warnings) void pulumi.log.warn(`${warning.key}: ${warning.message}`);
const stack = defineStack(loaded.inputs);

export const hubHostName = stack.hubHostName;
export const devices = stack.devices;
export const deviceConnectionStrings = stack.deviceConnectionStrings;
export const tracks = stack.tracks;
