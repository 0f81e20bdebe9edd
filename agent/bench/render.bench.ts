// Benchmark (not a test): parse + translate of the largest manifest IoT Hub allows a device (48 modules,
// edgeHub and edgeAgent: 50 module identities), many times; prints time per render.
import { performance } from "node:perf_hooks";
import { parseManifest } from "../src/manifest/parse.ts";
import { DEFAULT_TRANSLATION_DEFAULTS } from "../src/translate/context.ts";
import { translate } from "../src/translate/translate.ts";

const MODULES = 48;
const WARMUP = 200;
const RUNS = Number(process.env["BENCH_RUNS"] ?? 2000);

function largestManifest() {
  const modules: Record<string, unknown> = {};
  for (let i = 0; i < MODULES; i++) {
    const createOptions = {
      Env: [`INDEX=${i}`, "Logging:Level=Info"],
      ExposedPorts: { [`${8000 + i}/tcp`]: {} },
      Labels: { "com.contoso.line": String(i % 5) },
      Healthcheck: { Test: ["CMD", "/bin/health"], Interval: 10_000_000_000 },
      HostConfig: {
        Binds: [`module_${i}_data:/data`, "/etc/contoso:/etc/contoso:ro"],
        PortBindings: { [`${8000 + i}/tcp`]: [{ HostPort: String(18000 + i) }] },
        Memory: 268435456,
        NanoCpus: 250000000,
        CapDrop: ["ALL"],
      },
    };
    modules[`module_${i}`] = {
      version: "1.0",
      type: "docker",
      status: "running",
      restartPolicy: "always",
      startupOrder: i,
      env: { MODULE: { value: `m${i}` } },
      settings: { image: `contoso.azurecr.io/module-${i}:1.0.${i}`, createOptions: JSON.stringify(createOptions) },
    };
  }
  return {
    modulesContent: {
      $edgeAgent: {
        "properties.desired": {
          schemaVersion: "1.1",
          runtime: {
            type: "docker",
            settings: { registryCredentials: { acr: { address: "contoso.azurecr.io", username: "u", password: "p" } } },
          },
          systemModules: {
            edgeAgent: { type: "docker", settings: { image: "mcr.microsoft.com/azureiotedge-agent:1.5" } },
            edgeHub: {
              type: "docker",
              status: "running",
              restartPolicy: "always",
              settings: { image: "mcr.microsoft.com/azureiotedge-hub:1.5" },
            },
          },
          modules,
        },
      },
      $edgeHub: { "properties.desired": { schemaVersion: "1.1", routes: { all: "FROM /messages/* INTO $upstream" } } },
    },
  };
}

const input = largestManifest();
const ctx = {
  deviceId: "bench-device",
  hubHostName: "bench.azure-devices.net",
  namespace: "msiot-bench-bench-device",
  defaults: DEFAULT_TRANSLATION_DEFAULTS,
};
function once(): number {
  const parsed = parseManifest(input);
  if (!parsed.ok) throw new Error(parsed.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
  return translate(parsed.manifest, ctx).objects.length;
}

for (let i = 0; i < WARMUP; i++) once();
const samples: number[] = [];
let objects = 0;
for (let i = 0; i < RUNS; i++) {
  const start = performance.now();
  objects = once();
  samples.push(performance.now() - start);
}
samples.sort((a, b) => a - b);
const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]!.toFixed(3);
const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
console.log(`render: ${MODULES + 1} modules → ${objects} objects, ${RUNS} runs`);
console.log(
  `  mean ${mean.toFixed(3)} ms   p50 ${pct(50)} ms   p99 ${pct(99)} ms   max ${samples.at(-1)!.toFixed(3)} ms`,
);
