// Prints how long the Pulumi program takes to evaluate for many devices under mocks (DESIGN §10:
// 1,000 devices ≤ 20 s). Numbers only; nothing here fails on timing.
//   node infra/bench/program.bench.ts [devices] [azure|local] [--tracks N] [--source-maps]
// With `--tracks N` (azure), half the tracks are base tracks and half layers (IoT Hub's priority
// bands allow 10 base tracks), each device in one group of one base and one layer; the limits policy
// runs over all of them at preview.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadStackInputs } from "../inputs.ts";
import { defineStack } from "../stack.ts";
import { useNativeStackTraces } from "../stackTraces.ts";
import { runMocked } from "../test/mocks.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const count = Number(process.argv[2] ?? 1000);
const mode = process.argv[3] === "local" ? "local" : "azure";
const tracksAt = process.argv.indexOf("--tracks");
const trackCount = tracksAt > 0 ? Number(process.argv[tracksAt + 1]) : 0;
const groups = Math.max(1, Math.ceil(trackCount / 2));

const devices: Record<string, unknown> = {};
for (let i = 0; i < count; i++) {
  devices[`line${String(i)}-gw`] =
    mode === "local"
      ? { cluster: "plant", manifest: "deployments/quickstart.json" }
      : { cluster: "plant", tags: { ring: i % 10 === 0 ? "canary" : "broad", line: i, group: i % groups } };
}

/** A layer manifest adding one module and its route. */
function layerManifest(g: number): string {
  const module = { type: "docker", status: "running", restartPolicy: "always", settings: { image: `vision:${g}` } };
  return JSON.stringify({
    modulesContent: {
      $edgeAgent: { [`properties.desired.modules.layer${String(g)}`]: module },
      $edgeHub: {
        [`properties.desired.routes.layer${String(g)}Up`]: `FROM /messages/modules/layer${String(g)}/* INTO $upstream`,
      },
    },
  });
}
const trackDir = mkdtempSync(join(tmpdir(), "edgek8s-bench-tracks-"));
const tracks: Record<string, unknown> = {};
for (let t = 0; t < trackCount; t++) {
  const g = t % groups;
  const layer = t >= groups;
  const manifest = layer ? join(trackDir, `layer${String(g)}.json`) : "deployments/factory-gateway.json";
  if (layer) writeFileSync(manifest, layerManifest(g));
  tracks[`${layer ? "layer" : "base"}-${String(g)}`] = {
    manifest,
    target: `tags.group = ${String(g)}`,
    ...(layer ? { layer: true } : {}),
    retain: 2,
  };
}
const values = {
  hub:
    mode === "local"
      ? { mode: "none" }
      : { mode: "azure", name: "bench-hub", resourceGroup: "bench", location: "westeurope" },
  clusters: { plant: { kubeconfig: "kubeconfig" } },
  devices,
  namespaceDefaults: { resourceQuota: { pods: "20" }, limitRange: { default: { memory: "256Mi" } } },
  ...(trackCount > 0 ? { tracks } : {}),
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
  `program ${mode}, ${String(count)} devices, ${String(trackCount)} tracks: ${String(resources.length)} resources registered; ` +
    `config+manifests+limits ${((validated - start) / 1000).toFixed(2)} s, evaluation ${((done - validated) / 1000).toFixed(2)} s, ` +
    `total ${((done - start) / 1000).toFixed(2)} s, RSS ${rss.toFixed(0)} MB`,
);
rmSync(trackDir, { recursive: true, force: true });
