import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { toolPath } from "./tools.ts";

const run = (tool: Parameters<typeof toolPath>[0], args: string[], env: NodeJS.ProcessEnv = process.env) =>
  execFileSync(toolPath(tool), args, { encoding: "utf8", env });

describe("tools built by scripts/tools", () => {
  it("kubectl and the servers report the pinned Kubernetes version", () => {
    const client = JSON.parse(run("kubectl", ["version", "--client", "-o", "json"])) as {
      clientVersion: { gitVersion: string };
    };
    assert.match(client.clientVersion.gitVersion, /^v1\.\d+\.\d+$/);
    assert.equal(run("kube-apiserver", ["--version"]).trim(), `Kubernetes ${client.clientVersion.gitVersion}`);
  });

  it("helm version works", () => {
    assert.match(run("helm", ["version", "--short"]), /^v3\.\d+\.\d+/);
  });

  /** The CLI never reaches out: no update check, no plugin downloads, a throw-away home. */
  function offlinePulumi(args: string[]): string {
    const home = mkdtempSync(join(tmpdir(), "edgek8s-pulumi-home-"));
    try {
      return run("pulumi", args, {
        ...process.env,
        PULUMI_HOME: home,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }

  it("the Pulumi CLI is the version of @pulumi/pulumi in package-lock.json", () => {
    const lock = JSON.parse(readFileSync(new URL("../../package-lock.json", import.meta.url), "utf8")) as {
      packages: Record<string, { version?: string }>;
    };
    const sdk = lock.packages["node_modules/@pulumi/pulumi"]?.version;
    assert.ok(sdk, "@pulumi/pulumi is in package-lock.json");
    assert.equal(offlinePulumi(["version"]).trim(), `v${sdk}`);
  });

  it("pulumi version and pulumi plugin ls work offline", () => {
    assert.match(offlinePulumi(["version"]), /^v3\.\d+\.\d+/);
    assert.match(offlinePulumi(["plugin", "ls"]), /NAME\s+KIND\s+VERSION/);
  });
});
