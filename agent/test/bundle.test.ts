// The compiled agent (npm run build -w agent; what the image runs) behaves as the TypeScript sources.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { imageNodeFlags } from "../scripts/imageNodeFlags.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const deployments = readdirSync(join(root, "deployments")).map((f) => join(root, "deployments", f));

function edgek8s(entry: string, args: readonly string[], flags: readonly string[] = []) {
  const result = spawnSync(process.execPath, [...flags, entry, ...args], { encoding: "utf8", cwd: root });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe("the agent bundle", () => {
  let dir: string;
  let bundle: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "edgek8s-bundle-"));
    const build = spawnSync(process.execPath, [join(root, "agent/scripts/build.ts"), dir], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    bundle = join(dir, "edgek8s.js");
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const sources = join(root, "agent/src/cli/entry.ts");
  const cases: [string, string[]][] = [
    ["help", ["--help"]],
    ["agent help", ["agent", "--help"]],
    ["a usage error", ["render"]],
    ...deployments.map((file): [string, string[]] => [`validate ${file}`, ["validate", file]]),
    ...deployments.map((file): [string, string[]] => [
      `render ${file}`,
      ["render", file, "--device", "edge-device-1", "--hub", "my-hub.azure-devices.net"],
    ]),
  ];
  for (const [name, args] of cases)
    it(`${name}: same output and exit code as the sources, under the image's Node flags`, () => {
      assert.deepEqual(edgek8s(bundle, args, imageNodeFlags()), edgek8s(sources, args));
    });

  it("loads Node's own modules by require, not the dozens an ES import of node:http pulls in", () => {
    // An ES import of a built-in reads all its exports, and the lazy ones load modules of their own
    // (fetch's undici, http2, zlib): about 13 MB of the agent's resident memory (agent/scripts/build.ts).
    const report = `data:text/javascript,process.on("exit", () => process.stderr.write("\\nLOADED " + process.moduleLoadList.join(",")))`;
    const run = spawnSync(process.execPath, [...imageNodeFlags(), "--import", report, bundle, "agent", "--help"], {
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    const loaded = /LOADED (.*)/.exec(run.stderr)?.[1]?.split(",") ?? [];
    assert.ok(loaded.includes("NativeModule http"), "the agent loads node:http");
    for (const heavy of ["internal/deps/undici/undici", "http2", "zlib"])
      assert.ok(!loaded.includes(`NativeModule ${heavy}`), `${heavy} loaded`);
  });

  it("loads the IoT Hub SDKs only in chunks of their own (hub mode)", () => {
    const chunks = readdirSync(join(dir, "chunks"));
    assert.ok(
      chunks.some((c) => c.startsWith("azure-iot-device-mqtt-") || c.startsWith("iothub-")),
      chunks.join(" "),
    );
  });
});
