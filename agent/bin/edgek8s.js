#!/usr/bin/env node
// Entry point of the `edgek8s` command. In a checkout (`npx edgek8s` after `npm ci`) it runs the
// TypeScript sources through Node's type stripping (Node >= 22.18), so there is no build step and
// no stale output; where there are no sources (a packed or installed copy) it runs the compiled
// bundle, dist/edgek8s.js (`npm run build -w agent`). The image runs the bundle directly.
// On an older Node, it re-runs itself with the project's cached Node 24 when it exists.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

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

const here = join(import.meta.dirname, "..");
const sources = join(here, "src", "cli", "entry.ts");
await import(pathToFileURL(existsSync(sources) ? sources : join(here, "dist", "edgek8s.js")).href);
