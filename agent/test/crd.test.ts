import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { CRD_FILE, crdYaml } from "../scripts/generate-crd.ts";
import { edgeDeploymentCrd } from "../src/crd/crd.ts";
import type { EdgeDeploymentSpec, EdgeDeploymentStatus } from "../src/crd/edgeDeployment.ts";

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
};

/** A structural schema (Kubernetes' rule): every node has a type, unless it preserves unknown fields. */
function assertStructural(schema: Schema, path: string): void {
  assert.ok(schema.type !== undefined || schema["x-kubernetes-preserve-unknown-fields"], `${path} has no type`);
  for (const [key, child] of Object.entries(schema.properties ?? {})) assertStructural(child, `${path}.${key}`);
  if (schema.items) assertStructural(schema.items, `${path}[]`);
  if (schema.additionalProperties) assertStructural(schema.additionalProperties, `${path}.*`);
}

describe("EdgeDeployment CRD", () => {
  const crd = edgeDeploymentCrd();
  const version = crd.spec.versions[0]!;
  const root = version.schema.openAPIV3Schema as Schema;

  it("the committed YAML is generated from the code (run `npm run generate:crd`)", () => {
    assert.equal(readFileSync(CRD_FILE, "utf8"), crdYaml());
    assert.deepEqual(parse(readFileSync(CRD_FILE, "utf8")), crd);
  });

  it("is edgedeployments.edgek8s.io/v1, namespaced, with a status subresource", () => {
    assert.equal(crd.metadata.name, "edgedeployments.edgek8s.io");
    assert.equal(crd.spec.scope, "Namespaced");
    assert.equal(version.name, "v1");
    assert.deepEqual(version.subresources, { status: {} });
  });

  it("is structural and declares status", () => {
    assertStructural(root, "openAPIV3Schema");
    assert.ok(root.properties?.["status"]?.properties?.["conditions"]);
  });

  it("declares exactly the fields of the TypeScript spec and status types", () => {
    // Records over keyof make tsc fail when the types gain a field this list lacks.
    const specFields: Record<keyof EdgeDeploymentSpec, true> = {
      deviceId: true,
      hubHostName: true,
      desiredVersion: true,
      edgeAgent: true,
      edgeHub: true,
    };
    const statusFields: Record<keyof EdgeDeploymentStatus, true> = {
      observedGeneration: true,
      desiredVersion: true,
      conditions: true,
      modules: true,
      modulesReady: true,
      warnings: true,
      lastDesiredStatus: true,
      readiness: true,
    };
    const specKeys = Object.keys(specFields);
    const statusKeys = Object.keys(statusFields);
    assert.deepEqual(Object.keys(root.properties?.["spec"]?.properties ?? {}).sort(), [...specKeys].sort());
    assert.deepEqual(Object.keys(root.properties?.["status"]?.properties ?? {}).sort(), [...statusKeys].sort());
  });

  it("prints device, ready, modules, desired version and age in kubectl get", () => {
    assert.deepEqual(
      version.additionalPrinterColumns.map((c) => c.name),
      ["Device", "Ready", "Modules", "Desired Version", "Ready Version", "Age"],
    );
  });
});
