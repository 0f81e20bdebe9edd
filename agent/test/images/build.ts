// Bundles each test program (and the health check) into one JavaScript file in OUTDIR, for
// scripts/image: node agent/test/images/build.ts OUTDIR
import { build } from "esbuild";

const outdir = process.argv[2];
if (!outdir) {
  console.error("usage: node agent/test/images/build.ts OUTDIR");
  process.exit(2);
}
const programs = ["echo", "caller", "sdk-env", "crash", "unhealthy", "binds", "check"];
await build({
  entryPoints: programs.map((p) => new URL(`${p}.ts`, import.meta.url).pathname),
  outdir,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node22",
  minify: true,
  banner: { js: 'import { createRequire as __r } from "node:module"; const require = __r(import.meta.url);' },
  external: ["bufferutil", "utf-8-validate"],
  logLevel: "warning",
});
console.log(`test module programs bundled into ${outdir}: ${programs.join(", ")}`);
