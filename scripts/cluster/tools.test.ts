import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb.js";
import emptyPb from "google-protobuf/google/protobuf/empty_pb.js";
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

  /** A package's version as package-lock.json pins it. */
  function locked(name: string): string {
    const lock = JSON.parse(readFileSync(new URL("../../package-lock.json", import.meta.url), "utf8")) as {
      packages: Record<string, { version?: string }>;
    };
    const version = lock.packages[`node_modules/${name}`]?.version;
    assert.ok(version, `${name} is in package-lock.json`);
    return version;
  }

  it("the Pulumi CLI is the version of @pulumi/pulumi in package-lock.json", () => {
    assert.equal(offlinePulumi(["version"]).trim(), `v${locked("@pulumi/pulumi")}`);
  });

  /**
   * The engine loads the plugin whose version @pulumi/kubernetes asks for; the plugin has no version
   * flag and reports its version over gRPC (GetPluginInfo), as the engine asks it.
   */
  it("the Kubernetes provider plugin reports the version of @pulumi/kubernetes in package-lock.json", async () => {
    // A plugin's first argument is the engine's address; nothing here calls back into it.
    const plugin = spawn(toolPath("pulumi-resource-kubernetes"), ["127.0.0.1:1"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const [port] = (await once(createInterface({ input: plugin.stdout }), "line")) as [string];
      const client = new ResourceProviderClient(`127.0.0.1:${port.trim()}`, grpc.credentials.createInsecure());
      const version = await new Promise<string>((resolve, reject) => {
        client.getPluginInfo(new emptyPb.Empty(), (error, info) => {
          if (error) reject(error);
          else resolve(info.getVersion());
        });
      });
      client.close();
      assert.equal(version, locked("@pulumi/kubernetes"));
    } finally {
      plugin.kill();
    }
  });

  it("pulumi version and pulumi plugin ls work offline", () => {
    assert.match(offlinePulumi(["version"]), /^v3\.\d+\.\d+/);
    assert.match(offlinePulumi(["plugin", "ls"]), /NAME\s+KIND\s+VERSION/);
  });
});
