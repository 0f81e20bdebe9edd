// Benchmark (not a test) of `edgek8s rollout` on a local stack; prints numbers, asserts nothing.
//   node agent/bench/rollout.bench.ts
// The fleet of the rollout's integration test (agent/test/integration/rolloutFleet.ts): a full
// control plane with one kwok node, three devices (one in the canary ring), one agent per device and
// the release engine; the stack's plan: canary (bake 12 s) then all (bake 1 s), poll 250 ms.
// 1. a full rollout of a new manifest: the command's own output (transitions, ring tables) and its
//    wall time from the process's start to its exit;
// 2. an aborted one: a module of the canary crashes (kwok's crash simulation) once its bake has
//    begun; wall time to the verified rollback (exit 3), and from the crash to that exit.
import { performance } from "node:perf_hooks";
import { Fleet, TRACK_TARGET, ns } from "../test/integration/rolloutFleet.ts";
import { waitFor } from "../test/integration/harness.ts";
import { SIMULATE_ANNOTATION } from "../../scripts/cluster/controlPlane.ts";
import { RESOURCES } from "../src/kube/resources.ts";

const DEVICES = ["canary-1", "gw-1", "gw-2"];

async function run(
  fleet: Fleet,
  during?: () => Promise<number>,
): Promise<{ exit: number | null; ms: number; crashMs?: number }> {
  const start = performance.now();
  const child = fleet.spawnCommand([], (line) => {
    console.log(`    ${line}`);
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const crashedAt = during ? await during() : undefined;
  const exit = await exited;
  const end = performance.now();
  return { exit, ms: end - start, ...(crashedAt !== undefined ? { crashMs: end - crashedAt } : {}) };
}

const fleet = await Fleet.start({
  "canary-1": { site: "west", ring: "canary" },
  "gw-1": { site: "west" },
  "gw-2": { site: "west" },
});
try {
  await fleet.addRelease("ek8s-factory-000000000001", 1, "sensor:1", TRACK_TARGET, "Stable");
  await fleet.waitRunning(DEVICES, "sensor:1");

  console.log("1. full rollout of a new manifest (3 devices; bakes 12 s + 1 s):");
  await fleet.addRelease("ek8s-factory-000000000002", 2, "sensor:2", "", "Staged");
  const full = await run(fleet);
  console.log(
    `   exit ${String(full.exit)}, wall ${(full.ms / 1000).toFixed(1)} s (${((full.ms - 13_000) / 1000).toFixed(1)} s beyond the bakes)`,
  );

  console.log("2. aborted rollout: a canary module crashes during its bake; rollback verified:");
  await fleet.addRelease("ek8s-factory-000000000003", 3, "sensor:3", "", "Staged");
  const aborted = await run(fleet, async () => {
    await waitFor("baking", async () => (await fleet.stateOf("ek8s-factory-000000000003")) === "Baking", 60_000);
    const pods = await fleet.cluster.admin.list(RESOURCES.Pod, { namespace: ns("canary-1") });
    const pod = pods.items.find(
      (p) => p.metadata?.labels?.["edgek8s.io/module"] === "sensor" && !p.metadata.deletionTimestamp,
    );
    const at = performance.now();
    await fleet.cluster.admin.apply(
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: pod?.metadata?.name ?? "",
          namespace: ns("canary-1"),
          annotations: { [SIMULATE_ANNOTATION]: "crash" },
        },
      },
      "bench-chaos",
    );
    return at;
  });
  const verified = await Promise.all(DEVICES.map((id) => fleet.runs(id, "sensor:2")));
  console.log(
    `   exit ${String(aborted.exit)}, wall ${(aborted.ms / 1000).toFixed(1)} s; crash → rollback verified ${((aborted.crashMs ?? 0) / 1000).toFixed(1)} s; devices on the stable release: ${verified.filter(Boolean).length}/3`,
  );
} finally {
  await fleet.stop();
}
