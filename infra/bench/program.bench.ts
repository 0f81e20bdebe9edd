// Prints how long the Pulumi program takes to evaluate for many devices under mocks (DESIGN §10:
// 1,000 devices ≤ 20 s). Numbers only; nothing here fails on timing.
//   node infra/bench/program.bench.ts [devices] [azure|local]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadStackInputs } from "../inputs.ts";
import { defineStack } from "../stack.ts";
import { useNativeStackTraces } from "../stackTraces.ts";
import { runMocked } from "../test/mocks.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const count = Number(process.argv[2] ?? 1000);
const mode = process.argv[3] === "local" ? "local" : "azure";
// node infra/bench/program.bench.ts [devices] [azure|local] [--source-maps]

const devices: Record<string, unknown> = {};
for (let i = 0; i < count; i++) {
  devices[`line${String(i)}-gw`] =
    mode === "local"
      ? { cluster: "plant", manifest: "deployments/quickstart.json" }
      : { cluster: "plant", tags: { ring: i % 10 === 0 ? "canary" : "broad", line: i } };
}
const values = {
  hub:
    mode === "local"
      ? { mode: "none" }
      : { mode: "azure", name: "bench-hub", resourceGroup: "bench", location: "westeurope" },
  clusters: { plant: { kubeconfig: "kubeconfig" } },
  devices,
  namespaceDefaults: { resourceQuota: { pods: "20" }, limitRange: { default: { memory: "256Mi" } } },
};
const read = (path: string) => (path.endsWith("kubeconfig") ? "kind: Config" : readFileSync(path, "utf8"));

// As the program does (infra/index.ts); `--source-maps` measures without it.
if (!process.argv.includes("--source-maps")) useNativeStackTraces();
const start = performance.now();
const loaded = loadStackInputs(values, ROOT, read, {});
if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues.slice(0, 3)));
const validated = performance.now();
const { resources } = await runMocked(() => defineStack(loaded.inputs));
const done = performance.now();
const rss = process.memoryUsage().rss / 2 ** 20;
console.log(
  `program ${mode}, ${String(count)} devices: ${String(resources.length)} resources registered; ` +
    `config+manifests ${((validated - start) / 1000).toFixed(2)} s, evaluation ${((done - validated) / 1000).toFixed(2)} s, ` +
    `total ${((done - start) / 1000).toFixed(2)} s, RSS ${rss.toFixed(0)} MB`,
);
