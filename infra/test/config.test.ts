import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { CONFIG_NAMESPACE, formatConfigIssue, parseStackConfig } from "../config.ts";

const ROOT = new URL("../../", import.meta.url);

/** The `edgek8s:*` values of a stack file, keyed without the namespace, as index.ts reads them. */
function stackValues(stack: string): Record<string, unknown> {
  const doc = parse(readFileSync(new URL(`Pulumi.${stack}.yaml`, ROOT), "utf8")) as { config: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(doc.config)
      .filter(([k]) => k.startsWith(`${CONFIG_NAMESPACE}:`))
      .map(([k, v]) => [k.slice(CONFIG_NAMESPACE.length + 1), v]),
  );
}

const local = () => structuredClone(stackValues("local"));

function problems(values: Record<string, unknown>): string[] {
  const result = parseStackConfig(values);
  if (result.ok) assert.fail("expected the configuration to be rejected");
  return result.issues.map(formatConfigIssue);
}

describe("stack configuration", () => {
  for (const stack of ["local", "dev"]) {
    it(`Pulumi.${stack}.yaml is valid`, () => {
      const result = parseStackConfig(stackValues(stack));
      assert.ok(result.ok, result.ok ? "" : result.issues.map(formatConfigIssue).join("\n"));
    });
  }

  it("fills defaults: agent per cluster, baseline pod security, S1", () => {
    const result = parseStackConfig(stackValues("local"));
    assert.ok(result.ok);
    assert.deepEqual(result.config.clusters["local"]?.agent, {
      mode: "cluster",
      image: "ghcr.io/edgek8s/agent:0.1.0",
      replicas: 1,
      namespace: "edgek8s-system",
    });
    assert.equal(result.config.namespaceDefaults.podSecurity, "baseline");
  });

  const cases: [string, (v: Record<string, unknown>) => void, RegExp][] = [
    [
      "a value of the wrong type",
      (v) => ((v["clusters"] as Record<string, { agent: { replicas: unknown } }>)["local"]!.agent.replicas = "two"),
      /^edgek8s:clusters\.local\.agent\.replicas: expected number, received string$/,
    ],
    [
      "an unknown device cluster",
      (v) => ((v["devices"] as Record<string, { cluster: string }>)["line3-gw"]!.cluster = "plant-east"),
      /^edgek8s:devices\.line3-gw\.cluster: unknown cluster "plant-east"; clusters: local$/,
    ],
    [
      "a local device without a manifest",
      (v) => delete (v["devices"] as Record<string, { manifest?: string }>)["line3-gw"]!.manifest,
      /^edgek8s:devices\.line3-gw\.manifest: is required with hub mode none/,
    ],
    [
      "a device id IoT Hub would reject",
      (v) =>
        ((v["devices"] as Record<string, unknown>)["line 4/gw"] = {
          cluster: "local",
          manifest: "deployments/quickstart.json",
        }),
      /^edgek8s:devices\.line 4\/gw: device id may only contain/,
    ],
    [
      "a misspelt key",
      (v) => ((v["clusters"] as Record<string, Record<string, unknown>>)["local"]!["kubeConfig"] = "x"),
      /^edgek8s:clusters\.local\.kubeConfig: unknown key; known keys: kubeconfig, context, agent$/,
    ],
    [
      "an unknown top-level key",
      (v) => (v["devcies"] = {}),
      /^edgek8s:devcies: unknown key; known keys: hub, clusters, devices, namespaceDefaults, tracks, rollout$/,
    ],
    [
      "a Basic IoT Hub tier",
      (v) => (v["hub"] = { mode: "azure", name: "hub-1", resourceGroup: "rg", location: "westeurope", sku: "B1" }),
      /^edgek8s:hub\.sku: must be F1, S1, S2 or S3/,
    ],
    ["an unknown hub mode", (v) => (v["hub"] = { mode: "aws" }), /^edgek8s:hub(\.mode)?: /],
    ["no cluster", (v) => (v["clusters"] = {}), /^edgek8s:clusters: needs at least one cluster$/],
    [
      "tags over IoT Hub's 8 KB",
      (v) =>
        ((v["devices"] as Record<string, { tags?: unknown }>)["line3-gw"]!.tags = {
          a: "x".repeat(3000),
          b: "y".repeat(3000),
          c: "z".repeat(3000),
        }),
      /^edgek8s:devices\.line3-gw\.tags: are 9003 bytes; IoT Hub allows 8192$/,
    ],
    [
      "a tag key IoT Hub refuses",
      (v) => ((v["devices"] as Record<string, { tags?: unknown }>)["line3-gw"]!.tags = { "site.name": "x" }),
      /^edgek8s:devices\.line3-gw\.tags: "site\.name" IoT Hub refuses tag keys with '\.', '\$', spaces or control characters$/,
    ],
    [
      "two devices sharing a namespace",
      (v) =>
        ((v["devices"] as Record<string, unknown>)["Line3_GW"] = {
          cluster: "local",
          manifest: "deployments/quickstart.json",
        }),
      /^edgek8s:devices\.Line3_GW: devices "line3-gw" and "Line3_GW" would share the namespace msiot-local-hub-line3-gw$/,
    ],
    [
      "a track name IoT Hub's configuration ids cannot carry",
      (v) => (v["tracks"] = { Factory_1: { manifest: "deployments/quickstart.json", target: "tags.site='west'" } }),
      /^edgek8s:tracks\.Factory_1: track name must be 1–40 characters of lowercase letters, digits and '-'/,
    ],
    [
      "a misspelt track key",
      (v) => (v["tracks"] = { factory: { manifest: "deployments/quickstart.json", targt: "tags.site='west'" } }),
      /^edgek8s:tracks\.factory\.targt: unknown key; known keys: manifest, target, layer, retain, metrics$/,
    ],
    [
      "a track without a target",
      (v) => (v["tracks"] = { factory: { manifest: "deployments/quickstart.json", target: "" } }),
      /^edgek8s:tracks\.factory\.target: must be a target condition/,
    ],
    [
      "a ring plan whose last ring is not the whole track",
      (v) =>
        (v["rollout"] = {
          rings: [
            { name: "canary", select: "tags.ring='canary'" },
            { name: "early", percent: 10 },
          ],
        }),
      /^edgek8s:rollout\.rings\[1\]: the last ring must be `percent: 100`/,
    ],
    [
      "a ring with a double-quoted condition",
      (v) =>
        (v["rollout"] = {
          rings: [
            { name: "canary", select: `tags.ring="canary"` },
            { name: "all", percent: 100 },
          ],
        }),
      /^edgek8s:rollout\.rings\[0\]\.select: IoT Edge target conditions take single-quoted strings only$/,
    ],
    [
      "a device tag named edgek8s (the bucket's place)",
      (v) => ((v["devices"] as Record<string, { tags?: unknown }>)["line3-gw"]!.tags = { edgek8s: "mine" }),
      /^edgek8s:devices\.line3-gw\.tags\.edgek8s: is reserved/,
    ],
  ];
  for (const [name, mutate, expected] of cases) {
    it(`rejects ${name}, naming the key`, () => {
      const values = local();
      mutate(values);
      const found = problems(values);
      assert.ok(
        found.some((p) => expected.test(p)),
        `expected ${String(expected)}, got:\n${found.join("\n")}`,
      );
    });
  }
});
