// `npm run build -w agent`: compiles the agent to JavaScript for the image and for installed copies
// of the package — agent/dist/edgek8s.js and its lazily loaded chunks (the IoT Hub SDKs load only in
// hub mode). One bundle of the agent and its production dependencies, so the image needs no
// node_modules and Node does no type stripping at run time.
import { rmSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const agentDir = fileURLToPath(new URL("..", import.meta.url));
/** `node agent/scripts/build.ts [OUTDIR]` (default agent/dist). */
const outdir = process.argv[2] ?? `${agentDir}dist`;

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { edgek8s: `${agentDir}src/cli/entry.ts` },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  // Smaller source text is less for V8 to keep and parse; names stay, for readable errors.
  minify: true,
  keepNames: true,
  legalComments: "linked",
  chunkNames: "chunks/[name]-[hash]",
  // The CommonJS dependencies (the IoT SDKs) call require() for Node's own modules.
  banner: {
    js: 'import { createRequire as __edgek8sRequire } from "node:module"; const require = __edgek8sRequire(import.meta.url);',
  },
  // Optional native speed-ups of `ws`, loaded in try/catch; the pure-JavaScript paths are used.
  // `@pulumi/pulumi` (the Automation API) serves `edgek8s rollout`, a CI command run from the project
  // checkout where the Pulumi program's packages are installed; the operator image does not carry it.
  external: ["bufferutil", "utf-8-validate", "@pulumi/pulumi", "@pulumi/pulumi/*"],
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith(".js"));
const total = outputs.reduce((sum, [file]) => sum + statSync(file).size, 0);
console.log(
  `agent/dist: ${outputs.length} files, ${(total / 1024).toFixed(0)} KiB (entry ${(statSync(`${outdir}/edgek8s.js`).size / 1024).toFixed(0)} KiB)`,
);
