import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
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

  it("pulumi version and pulumi plugin ls work offline", () => {
    const home = mkdtempSync(join(tmpdir(), "edgek8s-pulumi-home-"));
    try {
      const env = {
        ...process.env,
        PULUMI_HOME: home,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      };
      assert.match(run("pulumi", ["version"], env), /^v3\.\d+\.\d+/);
      assert.match(run("pulumi", ["plugin", "ls"], env), /NAME\s+KIND\s+VERSION/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
