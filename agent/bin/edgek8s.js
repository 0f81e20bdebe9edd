#!/usr/bin/env node
// Entry point of the `edgek8s` command. The sources are TypeScript run by Node's type stripping
// (Node >= 22.18); on an older Node, re-run with the project's cached Node 24 when it exists.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  const cache = process.env.EDGEK8S_CACHE || join(homedir(), ".cache", "edgek8s");
  const candidates = existsSync(cache)
    ? (await import("node:fs"))
        .readdirSync(cache)
        .filter((d) => /^node-2[4-9]\./.test(d))
        .sort()
        .reverse()
    : [];
  const node = candidates.map((d) => join(cache, d, "bin", "node")).find((p) => existsSync(p));
  if (!node) {
    process.stderr.write(
      `edgek8s: needs Node >= 22.18 (found ${process.version}); run "source scripts/env.sh" in the repository to install Node 24\n`,
    );
    process.exit(2);
  }
  const result = spawnSync(node, process.argv.slice(1), { stdio: "inherit" });
  process.exit(result.status ?? 1);
}

const { run } = await import("../src/cli/main.ts");
process.exitCode = await run(process.argv.slice(2));
