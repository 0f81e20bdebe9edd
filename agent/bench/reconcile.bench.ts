// Benchmarks (not tests) of the agent against a real local API server; prints numbers, asserts nothing.
//   node agent/bench/reconcile.bench.ts [--devices 500] [--modules-per-device 10] [--samples 30] [--skip-rss]
//                                       [--bundle] [--kwok-nodes N]
// --bundle runs the agent processes from the compiled bundle (npm run build -w agent), as the image
// does; --kwok-nodes N adds controller-manager, scheduler and N kwok nodes, so modules get pods.
// 1. latency from an EdgeDeployment change to all objects applied, for 1, 20 and 50 modules (p50/p99);
//    for 20 modules, interleaved sample by sample: the agent with and without the dry-run preflight
//    (its cost) and the floor, the same objects written by a bare parallel server-side apply client,
//    with and without the dry run;
// 2. writes on a no-op resync (from the API server's audit log);
// 3. RSS of an agent process serving one device with 20 modules, and DEVICES devices × MODULES modules.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
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
import { RESOURCES } from "../src/kube/resources.ts";
import { Controller } from "../src/reconcile/controller.ts";
import { silentLogger } from "../src/runtime/log.ts";
import { DEFAULT_TRANSLATION_DEFAULTS } from "../src/translate/context.ts";
import { agentWriter, compare, floorWriter, measureLatency } from "./floor.ts";

const { values } = parseArgs({
  options: {
    devices: { type: "string" },
    "modules-per-device": { type: "string" },
    samples: { type: "string" },
    "skip-rss": { type: "boolean" },
    bundle: { type: "boolean" },
    "kwok-nodes": { type: "string" },
  },
});
const DEVICES = Number(values.devices ?? 500);
const MODULES_PER_DEVICE = Number(values["modules-per-device"] ?? 10);
const SAMPLES = Number(values.samples ?? 30);
const BIN = new URL(values.bundle ? "../dist/edgek8s.js" : "../bin/edgek8s.js", import.meta.url).pathname;
const KWOK_NODES = Number(values["kwok-nodes"] ?? 0);

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
  if (values.bundle) execFileSync(process.execPath, [new URL("../scripts/build.ts", import.meta.url).pathname]);
  const plane = await startControlPlane({
    auditLog: true,
    crdFiles: [CRD_FILE],
    ...(KWOK_NODES > 0 ? { full: true, nodes: KWOK_NODES } : {}),
  });
  const admin = new KubeClient(clusterConfigFromFile(plane.kubeconfigPath));
  try {
    // 1. latency, in-process controller
    const controller = new Controller(
      admin,
      { namespaces: [undefined], defaults: DEFAULT_TRANSLATION_DEFAULTS, workers: 4, resyncMs: 3_600_000 },
      silentLogger,
    );
    await controller.start();
    for (const count of [1, 20, 50]) {
      const result = await measureLatency(admin, `bench-latency-${count}`, count, SAMPLES, modules);
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

    // 1b. The floor and the cost of the preflight, in the same run, interleaved sample by sample:
    // an agent with the dry-run preflight, one without, and a bare parallel SSA client with and
    // without the dry run, each changing 20 Deployments and timed the same way.
    const options = { defaults: DEFAULT_TRANSLATION_DEFAULTS, workers: 4, resyncMs: 3_600_000 };
    const proved = new Controller(admin, { ...options, namespaces: ["cmp-agent"] }, silentLogger);
    const unproved = new Controller(
      admin,
      { ...options, namespaces: ["cmp-agent-nodry"], preflight: false },
      silentLogger,
    );
    await proved.start();
    await unproved.start();
    const writers = [
      await agentWriter(admin, "agent", "cmp-agent", 20, modules),
      await agentWriter(admin, "agent without preflight", "cmp-agent-nodry", 20, modules),
      await floorWriter(admin, "floor with dry run", "cmp-floor-dry", 20, modules, true),
      await floorWriter(admin, "floor", "cmp-floor", 20, modules, false),
    ];
    const results = await compare(admin, writers, 20, SAMPLES);
    await proved.stop();
    await unproved.stop();
    const r = (label: string) => results.get(label)!;
    for (const [label, p] of results) {
      console.log(
        `20 modules, interleaved, ${label.padEnd(24)} p50 ${p.p50.toFixed(1)} ms  p99 ${p.p99.toFixed(1)} ms`,
      );
    }
    console.log(
      `agent ÷ floor (p50): ${(r("agent").p50 / r("floor with dry run").p50).toFixed(2)} against the floor with the same dry run, ${(r("agent").p50 / r("floor").p50).toFixed(2)} against the floor without (target ≤ 1.3)`,
    );
    console.log(
      `the dry-run preflight costs the agent p50 ${(r("agent").p50 - r("agent without preflight").p50).toFixed(1)} ms, p99 ${(r("agent").p99 - r("agent without preflight").p99).toFixed(1)} ms (20 modules)`,
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
    if (KWOK_NODES > 0 && deployments > 0) {
      // Every module's pod exists and runs on a kwok node, so the agent holds them all in its cache.
      const admin = new KubeClient(clusterConfigFromFile(kubeconfig));
      await waitFor(
        "every module's pod running",
        async () =>
          (await admin.list(RESOURCES.Pod, { fieldSelector: "status.phase=Running" })).items.length >= deployments,
        1_800_000,
        undefined,
        5000,
      );
      admin.close();
      await waitFor("agent idle", async () => (await metric("edgek8s_queue_depth")) === 0, 300_000, undefined, 1000);
    }
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
