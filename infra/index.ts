// The Pulumi program: read and validate the stack's inputs once, then declare the stack.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { readConfigValues } from "./config.ts";
import { kubeconfigPath, loadStackInputs } from "./inputs.ts";
import type { LiveEdgeRelease } from "./localReleases.ts";
import { readLiveReleases } from "./liveReleases.ts";
import { defineStack, hasLocalTracks } from "./stack.ts";
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

/** A local stack with tracks: each cluster's EdgeReleases now, which the releases are planned against. */
const live = new Map<string, LiveEdgeRelease[]>();
if (hasLocalTracks(loaded.inputs)) {
  for (const [name, cluster] of Object.entries(loaded.inputs.config.clusters)) {
    const kubeconfig = loaded.inputs.kubeconfigs[name] ?? "";
    try {
      live.set(name, await readLiveReleases(kubeconfig, kubeconfigPath(cluster, root, process.env), cluster.context));
    } catch (error) {
      throw new pulumi.RunError(
        `edgek8s:clusters.${name}: cannot read the cluster's EdgeReleases, which the tracks' releases are planned against: ${(error as Error).message}`,
      );
    }
  }
}
const stack = defineStack(loaded.inputs, live);

export const hubHostName = stack.hubHostName;
export const devices = stack.devices;
export const deviceConnectionStrings = stack.deviceConnectionStrings;
export const tracks = stack.tracks;
