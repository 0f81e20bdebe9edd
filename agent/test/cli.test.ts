import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { cli, exec } from "./fixtures/cli.ts";
import { INVALID_CASES } from "./fixtures/invalidCorpus.ts";
import { REPO_ROOT, manifest } from "./fixtures/manifests.ts";

const QUICKSTART = "deployments/quickstart.json";
const GATEWAY = "deployments/factory-gateway.json";
const HUB = "my-hub.azure-devices.net";
const UPDATE = process.env["UPDATE_GOLDEN"] === "1";

function tempFile(content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "edgek8s-cli-")), "deployment.json");
  writeFileSync(file, content);
  return file;
}

describe("edgek8s render", () => {
  for (const [example, device] of [
    ["quickstart", "edge-device-1"],
    ["factory-gateway", "line3-gw"],
  ] as const) {
    it(`${example}: output matches the golden file`, async () => {
      const result = await cli("render", `deployments/${example}.json`, "--device", device, "--hub", HUB);
      assert.equal(result.code, 0, result.stderr);
      const goldenFile = new URL(`agent/test/golden/${example}.yaml`, REPO_ROOT);
      if (UPDATE) writeFileSync(goldenFile, result.stdout);
      assert.equal(
        result.stdout,
        readFileSync(goldenFile, "utf8"),
        "run `UPDATE_GOLDEN=1 npm run test:unit` after an intended change",
      );
    });
  }

  it("prints the quickstart's Deployments, the edgehub Service and injected variables in msiot-<hub>-<device>", async () => {
    const result = await cli("render", QUICKSTART, "--device", "edge-device-1", "--hub", HUB);
    const docs = parseAllDocuments(result.stdout).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string; namespace: string } },
    );
    assert.deepEqual(
      docs.filter((d) => d.kind === "Deployment").map((d) => `${d.metadata.namespace}/${d.metadata.name}`),
      ["msiot-my-hub-edge-device-1/edgehub", "msiot-my-hub-edge-device-1/simulatedtemperaturesensor"],
    );
    assert.ok(docs.some((d) => d.kind === "Service" && d.metadata.name === "edgehub"));
    assert.match(result.stdout, /IOTEDGE_GATEWAYHOSTNAME\n\s+value: edgehub/);
  });

  it("--output json prints a v1 List with the same objects", async () => {
    const yaml = await cli("render", GATEWAY, "--device", "d1", "--hub", HUB);
    const json = await cli("render", GATEWAY, "--device", "d1", "--hub", HUB, "--output", "json");
    const list = JSON.parse(json.stdout) as { apiVersion: string; kind: string; items: unknown[] };
    assert.equal(list.apiVersion, "v1");
    assert.equal(list.kind, "List");
    assert.deepEqual(
      list.items,
      parseAllDocuments(yaml.stdout).map((d) => d.toJS() as unknown),
    );
  });

  it("writes warnings to stderr and keeps stdout parseable", async () => {
    const result = await cli("render", GATEWAY, "--device", "d1", "--hub", HUB, "-o", "json");
    assert.match(
      result.stderr,
      /warning: modulesContent\.\$edgeAgent\.properties\.desired\.modules\.opcPublisher\.settings\.createOptions\.HostConfig\.LogConfig: container log drivers and rotation are node settings/,
    );
    assert.doesNotThrow(() => JSON.parse(result.stdout) as unknown);
  });

  it("redacts Secret data unless --show-secrets", async () => {
    const file = tempFile(
      JSON.stringify(
        manifest({
          registryCredentials: { acr: { address: "contoso.azurecr.io", username: "u", password: "hunter2-secret" } },
        }),
      ),
    );
    const hidden = await cli("render", file, "--device", "d1", "--hub", HUB);
    assert.doesNotMatch(hidden.stdout, new RegExp(Buffer.from("hunter2-secret").toString("base64").slice(0, 12)));
    assert.match(hidden.stdout, /\.dockerconfigjson: REDACTED/);
    assert.match(hidden.stderr, /--show-secrets/);
    const shown = await cli("render", file, "--device", "d1", "--hub", HUB, "--show-secrets", "-o", "json");
    const secretObject = (
      JSON.parse(shown.stdout) as { items: { kind: string; data: Record<string, string> }[] }
    ).items.find((o) => o.kind === "Secret");
    assert.match(Buffer.from(secretObject?.data[".dockerconfigjson"] ?? "", "base64").toString(), /hunter2-secret/);
  });

  it("applies translation flags", async () => {
    const result = await cli(
      "render",
      GATEWAY,
      "--device",
      "d1",
      "--hub",
      HUB,
      "--service-type",
      "LoadBalancer",
      "--volume-size",
      "20Gi",
      "--storage-class",
      "fast",
      "-o",
      "json",
    );
    const items = (
      JSON.parse(result.stdout) as {
        items: { kind: string; metadata: { name: string }; spec: Record<string, unknown> }[];
      }
    ).items;
    assert.equal(
      items.find((o) => o.kind === "Service" && o.metadata.name === "edgehub-published")?.spec["type"],
      "LoadBalancer",
    );
    const pvc = items.find((o) => o.kind === "PersistentVolumeClaim");
    assert.equal(pvc?.spec["storageClassName"], "fast");
    assert.deepEqual(pvc.spec["resources"], { requests: { storage: "20Gi" } });
  });

  it("rejects an invalid manifest with exit 1 and the JSON path of each problem, on stderr only", async () => {
    const file = tempFile(JSON.stringify(manifest({ schemaVersion: "7.0" })));
    const result = await cli("render", file, "--device", "d1", "--hub", HUB);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /^modulesContent\.\$edgeAgent\.properties\.desired\.schemaVersion: schema version "7\.0" is not supported/,
    );
    const real = exec("render", file, "--device", "d1", "--hub", HUB);
    assert.equal(real.code, 1);
    assert.equal(real.stdout, "");
    assert.match(real.stderr, /schemaVersion: schema version "7\.0" is not supported/);
  });
});

describe("edgek8s validate", () => {
  it("accepts the examples with exit 0 and a summary", async () => {
    const result = await cli("validate", QUICKSTART);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /deployments\/quickstart\.json: valid \(2 modules, 1 routes, 1 warnings\)/);
    const gateway = await cli("validate", GATEWAY);
    assert.equal(gateway.code, 0);
    assert.match(gateway.stderr, /warning: .*opcPublisher.*HostConfig\.LogConfig/);
    assert.doesNotMatch(gateway.stderr, /HostConfig\.Devices/, "a privileged module may open its devices");
  });

  for (const c of INVALID_CASES) {
    it(`rejects: ${c.name}`, async () => {
      const result = await cli("validate", tempFile(JSON.stringify(c.input)));
      assert.equal(result.code, 1);
      const lines = result.stdout.trimEnd().split("\n");
      assert.ok(
        lines.some((l) => l.startsWith(`${c.path}: `) && c.message.test(l.slice(c.path.length + 2))),
        `expected a line "${c.path}: …${String(c.message)}", got:\n${result.stdout}`,
      );
    });
  }
});

describe("edgek8s usage errors: exit 2, one line, no stack trace", () => {
  const cases: [string, string[], RegExp][] = [
    ["unknown flag", ["render", QUICKSTART, "--device", "d", "--hub", HUB, "--colour"], /Unknown option '--colour'/],
    ["missing file", ["validate", "does/not/exist.json"], /cannot read does\/not\/exist\.json: no such file/],
    ["unreadable JSON", ["validate", ".gitignore"], /\.gitignore is not valid JSON/],
    ["missing --device", ["render", QUICKSTART, "--hub", HUB], /missing required flag --device/],
    ["bad --device", ["render", QUICKSTART, "--device", "has space", "--hub", HUB], /--device may only contain/],
    ["bad --hub", ["render", QUICKSTART, "--device", "d", "--hub", "https://x"], /--hub must be a DNS host name/],
    [
      "bad --output",
      ["render", QUICKSTART, "--device", "d", "--hub", HUB, "-o", "xml"],
      /--output must be one of yaml, json/,
    ],
    [
      "bad --volume-size",
      ["render", QUICKSTART, "--device", "d", "--hub", HUB, "--volume-size", "0"],
      /--volume-size must be a positive Kubernetes quantity/,
    ],
    ["two files", ["validate", QUICKSTART, GATEWAY], /expected one FILE/],
    ["unknown command", ["deploy"], /unknown command "deploy"/],
    [
      "release engine in one namespace",
      ["agent", "-n", "msiot-a-d1", "--release-engine"],
      /--release-engine needs --all-namespaces/,
    ],
    ["release engine with the hub bridge", ["agent", "-A", "--release-engine", "--hub-bridge"], /is for local stacks/],
    [
      "bad --release-eval-interval",
      ["agent", "-A", "--release-engine", "--release-eval-interval", "5 min"],
      /--release-eval-interval must be a duration such as 0, 30s, 5m or 1h, got "5 min"/,
    ],
    ["eval interval alone", ["agent", "-A", "--release-eval-interval", "5m"], /needs --release-engine/],
    ["zero --workers", ["agent", "-A", "--workers", "0"], /--workers must be a positive whole number, got "0"/],
  ];
  for (const [name, args, message] of cases) {
    it(name, () => {
      const result = exec(...args);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trimEnd().split("\n").length, 1, `more than one line:\n${result.stderr}`);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    });
  }

  it("--help on every command", () => {
    for (const args of [["--help"], ["render", "--help"], ["validate", "-h"], ["help", "render"]]) {
      const result = exec(...args);
      assert.equal(result.code, 0, args.join(" "));
      assert.match(result.stdout, /Usage: edgek8s/);
    }
    assert.match(exec("render", "--help").stdout, /--device ID/);
  });
});
