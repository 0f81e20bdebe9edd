// Benchmarks (not tests) of the agent against a real local API server; prints numbers, asserts nothing.
//   node agent/bench/reconcile.bench.ts [--devices 500] [--modules-per-device 10] [--samples 30] [--skip-rss]
// 1. latency from an EdgeDeployment change to all objects applied, for 1, 20 and 50 modules (p50/p99);
//    for 20 modules also without the dry-run preflight (its cost), and the floor: the same objects
//    written by a bare parallel server-side apply client, with and without the dry run, in the same run;
// 2. writes on a no-op resync (from the API server's audit log);
// 3. RSS of an agent process serving one device with 20 modules, and DEVICES devices × MODULES modules.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { startControlPlane } from "../../scripts/cluster/controlPlane.ts";
import { freePort, waitFor } from "../../scripts/cluster/processes.ts";
import { edgeDeployment } from "../test/integration/harness.ts";
import { CRD_FILE } from "../test/integration/harness.ts";
import { manifest, userModule } from "../test/fixtures/manifests.ts";
import { KubeClient } from "../src/kube/client.ts";
import { clusterConfigFromFile } from "../src/kube/config.ts";
import { Controller } from "../src/reconcile/controller.ts";
import { silentLogger } from "../src/runtime/log.ts";
import { DEFAULT_TRANSLATION_DEFAULTS } from "../src/translate/context.ts";
import { measureFloor, measureLatency } from "./floor.ts";

const { values } = parseArgs({
  options: {
    devices: { type: "string" },
    "modules-per-device": { type: "string" },
    samples: { type: "string" },
    "skip-rss": { type: "boolean" },
  },
});
const DEVICES = Number(values.devices ?? 500);
const MODULES_PER_DEVICE = Number(values["modules-per-device"] ?? 10);
const SAMPLES = Number(values.samples ?? 30);
const BIN = new URL("../bin/edgek8s.js", import.meta.url).pathname;

function modules(count: number, tag: string) {
  return manifest({
    modules: Object.fromEntries(
      Array.from({ length: count }, (_, i) => [
        `module${i}`,
        userModule(`contoso.azurecr.io/m${i}:${tag}`, {
          ExposedPorts: { [`${8000 + i}/tcp`]: {} },
          HostConfig: { Memory: 134217728 },
        }),
      ]),
    ),
  });
}

async function main(): Promise<void> {
  const plane = await startControlPlane({ auditLog: true, crdFiles: [CRD_FILE] });
  const admin = new KubeClient(clusterConfigFromFile(plane.kubeconfigPath));
  try {
    // 1. latency, in-process controller
    const controller = new Controller(
      admin,
      { namespaces: [undefined], defaults: DEFAULT_TRANSLATION_DEFAULTS, workers: 4, resyncMs: 3_600_000 },
      silentLogger,
    );
    await controller.start();
    const agent20 = { p50: 0, p99: 0 };
    for (const count of [1, 20, 50]) {
      const result = await measureLatency(admin, `bench-latency-${count}`, count, SAMPLES, modules);
      if (count === 20) Object.assign(agent20, result);
      console.log(
        `change → all objects applied, ${String(count).padStart(2)} modules: p50 ${result.p50.toFixed(1)} ms  p99 ${result.p99.toFixed(1)} ms  (${SAMPLES} changes; includes the 2 ms polling of the check)`,
      );
    }
    // 2. writes on a no-op resync
    await controller.idle();
    await new Promise((r) => setTimeout(r, 500));
    const before = plane.writes().length;
    controller.resync();
    await controller.idle();
    await new Promise((r) => setTimeout(r, 500));
    console.log(
      `writes on a no-op resync of ${controller.cache.edgeDeploymentKeys().length} EdgeDeployments: ${plane.writes().length - before}`,
    );
    await controller.stop();

    // 1b. The floor, in the same run and the same way (change → a list shows every Deployment at the new image).
    const floorDry = await measureFloor(admin, "bench-floor-dry", 20, SAMPLES, modules, true);
    const floorPlain = await measureFloor(admin, "bench-floor-plain", 20, SAMPLES, modules, false);
    console.log(
      `floor, bare parallel SSA client, 20 modules: with dry run p50 ${floorDry.p50.toFixed(1)} ms  p99 ${floorDry.p99.toFixed(1)} ms; without p50 ${floorPlain.p50.toFixed(1)} ms  p99 ${floorPlain.p99.toFixed(1)} ms`,
    );
    console.log(
      `agent ÷ floor (20 modules, p50): ${(agent20.p50 / floorDry.p50).toFixed(2)} against the floor with dry run, ${(agent20.p50 / floorPlain.p50).toFixed(2)} against the floor without (target ≤ 1.3)`,
    );

    // 1c. what the dry-run preflight costs: the same 20-module changes with it turned off.
    const unproved = new Controller(
      admin,
      {
        namespaces: ["bench-latency-20-nodry"],
        defaults: DEFAULT_TRANSLATION_DEFAULTS,
        workers: 4,
        resyncMs: 3_600_000,
        preflight: false,
      },
      silentLogger,
    );
    await unproved.start();
    const noDry = await measureLatency(admin, "bench-latency-20-nodry", 20, SAMPLES, modules);
    await unproved.stop();
    console.log(
      `change → all objects applied, 20 modules, without the dry-run preflight: p50 ${noDry.p50.toFixed(1)} ms  p99 ${noDry.p99.toFixed(1)} ms; the preflight costs p50 ${(agent20.p50 - noDry.p50).toFixed(1)} ms, p99 ${(agent20.p99 - noDry.p99).toFixed(1)} ms`,
    );
    if (values["skip-rss"]) return;

    // 3. RSS of agent processes
    const one = await rssOfAgent(plane.kubeconfigPath, ["--namespace", "bench-latency-20"], 1);
    console.log(`agent RSS, one device with 20 modules: ${one.toFixed(0)} MB`);
    const start = performance.now();
    for (let d = 0; d < DEVICES; d++) {
      const ns = `bench-fleet-${d}`;
      await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
      await admin.create(edgeDeployment(ns, `device-${d}`, modules(MODULES_PER_DEVICE, "0")));
    }
    console.log(`created ${DEVICES} EdgeDeployments in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    const fleet = await rssOfAgent(
      plane.kubeconfigPath,
      ["--all-namespaces"],
      DEVICES + 3,
      DEVICES * (MODULES_PER_DEVICE + 1),
    );
    console.log(`agent RSS, ${DEVICES} devices × ${MODULES_PER_DEVICE} modules in one process: ${fleet.toFixed(0)} MB`);
  } finally {
    admin.close();
    await plane.stop();
  }
}

function rss(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid ?? 0}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Starts an agent process, waits until it has applied everything and is idle, and returns its RSS. */
async function rssOfAgent(
  kubeconfig: string,
  scope: string[],
  edgeDeployments: number,
  deployments = 0,
): Promise<number> {
  const port = await freePort();
  // The same V8 flag as the image's ENTRYPOINT (agent/Dockerfile).
  const child = spawn(
    process.execPath,
    [
      "--max-semi-space-size=4",
      BIN,
      "agent",
      "--kubeconfig",
      kubeconfig,
      ...scope,
      "--listen",
      `127.0.0.1:${port}`,
      "--workers",
      "8",
      "--log-level",
      "error",
    ],
    { stdio: "ignore" },
  );
  try {
    const started = performance.now();
    const metric = async (name: string, labels = "") => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const pattern =
        labels === "" ? `^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?)$` : `^${name}\\{${labels}\\} (\\d+(?:\\.\\d+)?)$`;
      return Number(new RegExp(pattern, "m").exec(text)?.[1] ?? 0);
    };
    await waitFor(
      "agent applied everything",
      async () => {
        const passes = await metric("edgek8s_reconcile_duration_seconds_count");
        const depth = await metric("edgek8s_queue_depth");
        const applied = await metric("edgek8s_applied_objects_total", 'kind="Deployment"');
        return passes >= edgeDeployments && depth === 0 && applied >= deployments;
      },
      900_000,
      undefined,
      1000,
    );
    await new Promise((r) => setTimeout(r, 3000));
    if (deployments > 0)
      console.log(
        `  (agent applied ${deployments} Deployments and their objects in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
    return rss(child);
  } finally {
    child.kill("SIGTERM");
  }
}

await main();
