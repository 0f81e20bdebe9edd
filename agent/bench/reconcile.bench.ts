// Benchmarks (not tests) of the agent against a real local API server; prints numbers, asserts nothing.
//   node agent/bench/reconcile.bench.ts [--samples 30]
// (the agent's memory and CPU as shipped: memory.bench.ts)
// 1. latency from an EdgeDeployment change to all objects applied, for 1, 20 and 50 modules (p50/p99);
//    for 20 modules, interleaved sample by sample: the agent with and without the dry-run preflight
//    (its cost) and the floor, the same objects written by a bare parallel server-side apply client,
//    with and without the dry run;
// 2. writes on a no-op resync (from the API server's audit log).
import { parseArgs } from "node:util";
import { startControlPlane } from "../../scripts/cluster/controlPlane.ts";
import { CRD_FILE } from "../test/integration/harness.ts";
import { manifest, userModule } from "../test/fixtures/manifests.ts";
import { KubeClient } from "../src/kube/client.ts";
import { clusterConfigFromFile } from "../src/kube/config.ts";
import { Controller } from "../src/reconcile/controller.ts";
import { silentLogger } from "../src/runtime/log.ts";
import { DEFAULT_TRANSLATION_DEFAULTS } from "../src/translate/context.ts";
import { agentWriter, compare, floorWriter, measureLatency } from "./floor.ts";

const { values } = parseArgs({
  options: {
    samples: { type: "string" },
  },
});
const SAMPLES = Number(values.samples ?? 30);

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
  } finally {
    admin.close();
    await plane.stop();
  }
}

await main();
