// `npm run build -w agent`: compiles the agent to JavaScript for the image and for installed copies
// of the package — agent/dist/edgek8s.js and its lazily loaded chunks (the IoT Hub SDKs load only in
// hub mode). One bundle of the agent and its production dependencies, so the image needs no
// node_modules and Node does no type stripping at run time.
import { rmSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import { type Plugin, build } from "esbuild";

const agentDir = fileURLToPath(new URL("..", import.meta.url));
/** `node agent/scripts/build.ts [OUTDIR]` (default agent/dist). */
const outdir = process.argv[2] ?? `${agentDir}dist`;

/**
 * Node's own modules through `require`, not `import`. Node builds an ES module namespace of a
 * built-in by reading every export, and the lazy ones load their modules: `import "node:http"` loads
 * 113 of Node's modules (undici, http2, zlib, worker_threads, the REPL's history…), `require` 38.
 * Measured on Node 24: an HTTP server listening, 61 MB resident by import, 48 MB by require.
 */
const builtinsByRequire: Plugin = {
  name: "builtins-by-require",
  setup(build) {
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    build.onResolve({ filter: /^[a-z_/:0-9]+$/ }, (args) =>
      args.kind === "import-statement" && builtins.has(args.path)
        ? { path: args.path, namespace: "builtin-by-require" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "builtin-by-require" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
  },
};

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
  plugins: [builtinsByRequire],
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith(".js"));
const total = outputs.reduce((sum, [file]) => sum + statSync(file).size, 0);
console.log(
  `agent/dist: ${outputs.length} files, ${(total / 1024).toFixed(0)} KiB (entry ${(statSync(`${outdir}/edgek8s.js`).size / 1024).toFixed(0)} KiB)`,
);
