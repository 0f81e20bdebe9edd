import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadStackInputs, type StackInputs } from "../inputs.ts";
import type { Registered } from "./mocks.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const KUBECONFIG = "apiVersion: v1\nkind: Config\n# a cluster credential: must stay secret\n";

export function inputs(values: Record<string, unknown>): StackInputs {
  const read = (path: string) =>
    path.endsWith("kubeconfig") ? KUBECONFIG : existsSync(path) ? readFileSync(path, "utf8") : undefined;
  const loaded = loadStackInputs(values, ROOT, read, {});
  if (!loaded.ok) assert.fail(JSON.stringify(loaded.issues));
  return loaded.inputs;
}

export const LOCAL = {
  hub: { mode: "none", hostName: "local-hub.azure-devices.net" },
  clusters: { local: { kubeconfig: ".state/cluster/kubeconfig" } },
  devices: {
    "edge-device-1": { cluster: "local", manifest: "deployments/quickstart.json" },
    "line3-gw": { cluster: "local", manifest: "deployments/factory-gateway.json" },
  },
};

export const AZURE = {
  hub: { mode: "azure", name: "contoso-edge-dev", resourceGroup: "contoso-edge-dev", location: "westeurope" },
  clusters: { "plant-west": { kubeconfig: "plant-west.kubeconfig", agent: { mode: "device" } } },
  devices: {
    "line1-gw": { cluster: "plant-west", tags: { ring: "canary", line: 1 } },
    "line2-gw": { cluster: "plant-west" },
  },
  namespaceDefaults: { resourceQuota: { pods: "30" } },
};

export const byName = (resources: readonly Registered[], name: string): Registered => {
  const found = resources.find((r) => r.name === name);
  if (!found) assert.fail(`no resource named ${name}; have ${resources.map((r) => r.name).join(", ")}`);
  return found;
};

/** A Kubernetes resource's inputs: the object itself. */
export const objectOf = (r: Registered) =>
  r.inputs as {
    apiVersion: string;
    kind: string;
    metadata: {
      name: string;
      namespace?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    };
    spec?: unknown;
  };

/** Resources whose type is a Kubernetes kind (the provider and Helm releases aside). */
export const kubernetesObjects = (resources: readonly Registered[]): Registered[] =>
  resources.filter((r) => r.type.startsWith("kubernetes:") && r.type !== "kubernetes:helm.sh/v3:Release");
