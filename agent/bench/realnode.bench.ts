// Benchmarks on a real node (root; scripts/image built): prints numbers, asserts nothing.
//   node agent/bench/realnode.bench.ts [--starts 3] [--modules 20]
// 1. time to start a control plane with a real node (node Ready, kube-proxy and CoreDNS serving);
// 2. the agent image as a Pod from the chart: start to ready (its own `ready` log line) and RSS with
//    one device of MODULES modules running as real containers.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { startControlPlane } from "../../scripts/cluster/controlPlane.ts";
import { manifest, userModule } from "../test/fixtures/manifests.ts";
import { createNamespace, edgeDeployment } from "../test/integration/harness.ts";
import {
  AGENT_IMAGE,
  AGENT_NAMESPACE,
  TEST_IMAGES,
  installAgent,
  kubectl,
  startRealNodeCluster,
  waitForModule,
} from "../test/realnode/harness.ts";

const { values } = parseArgs({ options: { starts: { type: "string" }, modules: { type: "string" } } });
const STARTS = Number(values.starts ?? 3);
const MODULES = Number(values.modules ?? 20);

for (let i = 0; i < STARTS; i++) {
  const start = performance.now();
  const plane = await startControlPlane({ realNode: true });
  const up = performance.now() - start;
  const stopStart = performance.now();
  await plane.stop();
  console.log(
    `control plane with a real node: up in ${(up / 1000).toFixed(1)} s, stopped in ${((performance.now() - stopStart) / 1000).toFixed(1)} s`,
  );
}

const cluster = await startRealNodeCluster([AGENT_IMAGE, TEST_IMAGES.echo]);
try {
  const installStart = performance.now();
  installAgent(cluster);
  console.log(`helm install of the agent, --wait: ${((performance.now() - installStart) / 1000).toFixed(1)} s`);
  const log = kubectl(cluster, "logs", "-n", AGENT_NAMESPACE, "deployment/edgek8s-agent");
  console.log(`agent in the image, start to ready: ${/"msg":"ready".*"startupMs":(\d+)/.exec(log)?.[1] ?? "?"} ms`);
  const never = { imagePullPolicy: "never" };
  await createNamespace(cluster, "bench");
  await cluster.admin.create(
    edgeDeployment(
      "bench",
      "device-1",
      manifest({
        modules: Object.fromEntries(
          Array.from({ length: MODULES }, (_, i) => [`module${i}`, userModule(TEST_IMAGES.echo, {}, never)]),
        ),
        edgeHubExtra: { settings: { image: TEST_IMAGES.echo, createOptions: "{}" }, ...never },
      }),
    ),
  );
  const modulesStart = performance.now();
  for (let i = 0; i < MODULES; i++)
    await waitForModule(cluster, "bench", "device-1", `module${i}`, (s) => s.runtimeStatus === "running", 300_000);
  console.log(
    `${MODULES} modules running as containers: ${((performance.now() - modulesStart) / 1000).toFixed(1)} s after the EdgeDeployment`,
  );
  await new Promise((r) => setTimeout(r, 10_000));
  const pod = kubectl(
    cluster,
    "get",
    "pods",
    "-n",
    AGENT_NAMESPACE,
    "-o",
    "jsonpath={.items[0].status.containerStatuses[0].containerID}",
  );
  const id = pod.replace("containerd://", "");
  // `ctr tasks ls`: TASK PID STATUS
  const pid = cluster.plane
    .realNode!.ctr("tasks", "ls")
    .split("\n")
    .find((line) => line.startsWith(id))
    ?.split(/\s+/)[1];
  const rss = pid ? Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024 : 0;
  console.log(`agent RSS as a Pod, one device with ${MODULES} modules (+ edgeHub) running: ${rss.toFixed(0)} MB`);
} finally {
  await cluster.plane.stop();
  cluster.admin.close();
}
