// Benchmark (not a test) of the compiled agent's memory and CPU against a real local API server;
// prints numbers, asserts nothing.
//   node agent/bench/memory.bench.ts [--devices 500] [--modules-per-device 10] [--kwok-nodes N]
//                                    [--node-flags="--max-semi-space-size=4" ...]
// For each set of Node flags (default: the image's, read from agent/Dockerfile's ENTRYPOINT; give
// --node-flags several times to compare), on a fresh control plane each, so every agent does the same
// work: an agent serving one device with 20 modules, then one serving DEVICES devices × MODULES
// modules. Each is measured once it has applied everything and is idle: resident memory (VmRSS, of it
// anonymous and file-backed, i.e. Node's own binary), its peak, the CPU it used and the time to apply.
// Beside them, with the same flags, Node's floor: a process that does only what any agent must (an
// HTTP server listening, a hash, a TLS client session with the API server, a GET) — what is above it
// is the agent's own.
// --kwok-nodes N adds controller-manager, scheduler and N kwok nodes, so every module has a pod the
// agent holds in its cache, as on a real cluster.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { startControlPlane } from "../../scripts/cluster/controlPlane.ts";
import { freePort, waitFor } from "../../scripts/cluster/processes.ts";
import { CRD_FILE, edgeDeployment } from "../test/integration/harness.ts";
import { manifest, userModule } from "../test/fixtures/manifests.ts";
import { KubeClient } from "../src/kube/client.ts";
import { clusterConfigFromFile } from "../src/kube/config.ts";
import { RESOURCES } from "../src/kube/resources.ts";
import { mapLimit } from "../src/runtime/mapLimit.ts";
import { imageNodeFlags } from "../scripts/imageNodeFlags.ts";

const { values } = parseArgs({
  options: {
    devices: { type: "string" },
    "modules-per-device": { type: "string" },
    "kwok-nodes": { type: "string" },
    "node-flags": { type: "string", multiple: true },
  },
});
const DEVICES = Number(values.devices ?? 500);
const MODULES_PER_DEVICE = Number(values["modules-per-device"] ?? 10);
const KWOK_NODES = Number(values["kwok-nodes"] ?? 0);
const BUNDLE = new URL("../dist/edgek8s.js", import.meta.url).pathname;

function modules(count: number) {
  return manifest({
    modules: Object.fromEntries(
      Array.from({ length: count }, (_, i) => [
        `module${i}`,
        userModule(`contoso.azurecr.io/m${i}:1`, {
          ExposedPorts: { [`${8000 + i}/tcp`]: {} },
          HostConfig: { Memory: 134217728 },
        }),
      ]),
    ),
  });
}

interface Measured {
  readonly rss: number;
  readonly anon: number;
  readonly file: number;
  readonly peak: number;
  readonly cpuSeconds: number;
  readonly appliedSeconds: number;
}

function processMemory(pid: number): Omit<Measured, "appliedSeconds"> {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const mb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(status)?.[1] ?? 0) / 1024;
  // /proc/PID/stat after the command name: utime and stime are fields 14 and 15, in clock ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return {
    rss: mb("VmRSS"),
    anon: mb("RssAnon"),
    file: mb("RssFile"),
    peak: mb("VmHWM"),
    cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100,
  };
}

/** On a fresh plane: `devices` devices of `perDevice` modules, an agent for them, measured when idle. */
async function measure(flags: readonly string[], devices: number, perDevice: number): Promise<Measured> {
  const plane = await startControlPlane({
    crdFiles: [CRD_FILE],
    ...(KWOK_NODES > 0 ? { full: true, nodes: KWOK_NODES } : {}),
  });
  const admin = new KubeClient(clusterConfigFromFile(plane.kubeconfigPath));
  try {
    await mapLimit(
      Array.from({ length: devices }, (_, d) => d),
      8,
      async (d) => {
        await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: `device-${d}` } });
        await admin.create(edgeDeployment(`device-${d}`, `device-${d}`, modules(perDevice)));
      },
    );
    const port = await freePort();
    const agent = spawn(
      process.execPath,
      [...flags, BUNDLE, "agent", "--kubeconfig", plane.kubeconfigPath, "--all-namespaces"].concat([
        "--listen",
        `127.0.0.1:${port}`,
        "--workers",
        "8",
        "--log-level",
        "error",
      ]),
      { stdio: "ignore" },
    );
    try {
      const started = performance.now();
      const metric = async (name: string, labels = "") => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const labelled = labels === "" ? "(?:\\{[^}]*\\})?" : `\\{${labels}\\}`;
        return Number(new RegExp(`^${name}${labelled} (\\d+(?:\\.\\d+)?)$`, "m").exec(text)?.[1] ?? 0);
      };
      const deployments = devices * (perDevice + 1); // + edgeHub
      await waitFor(
        "agent applied everything",
        async () =>
          (await metric("edgek8s_reconcile_duration_seconds_count")) >= devices &&
          (await metric("edgek8s_queue_depth")) === 0 &&
          (await metric("edgek8s_applied_objects_total", 'kind="Deployment"')) >= deployments,
        1_800_000,
        undefined,
        500,
      );
      if (KWOK_NODES > 0)
        await waitFor(
          "every module's pod running, and the agent idle",
          async () =>
            (await admin.list(RESOURCES.Pod, { fieldSelector: "status.phase=Running" })).items.length >= deployments &&
            (await metric("edgek8s_queue_depth")) === 0,
          1_800_000,
          undefined,
          2000,
        );
      const appliedSeconds = (performance.now() - started) / 1000;
      await new Promise((resolve) => setTimeout(resolve, 5000));
      return { ...processMemory(agent.pid!), appliedSeconds };
    } finally {
      agent.kill("SIGTERM");
      await new Promise((resolve) => agent.once("exit", resolve));
    }
  } finally {
    admin.close();
    await plane.stop();
  }
}

/** Node with the same flags doing only the agent's unavoidable I/O, measured after it is idle. */
async function nodeFloor(flags: readonly string[]): Promise<Omit<Measured, "appliedSeconds">> {
  const plane = await startControlPlane({ crdFiles: [] });
  try {
    const { server, ca } = clusterConfigFromFile(plane.kubeconfigPath);
    const script = `
      const http = require("node:http"), https = require("node:https"), crypto = require("node:crypto");
      http.createServer().listen(0, "127.0.0.1");
      crypto.createHash("sha256").update("x").digest("hex");
      https.get(process.argv[1] + "/version", { ca: process.env.CA }, (res) => res.resume());
      setInterval(() => {}, 60000);`;
    const floor = spawn(process.execPath, [...flags, "-e", script, server], {
      stdio: "ignore",
      env: { ...process.env, CA: ca?.toString() ?? "" },
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 5000));
      return processMemory(floor.pid!);
    } finally {
      floor.kill("SIGTERM");
      await new Promise((resolve) => floor.once("exit", resolve));
    }
  } finally {
    await plane.stop();
  }
}

function line(what: string, m: Measured): string {
  return `${what}: RSS ${m.rss.toFixed(0)} MB (anonymous ${m.anon.toFixed(0)}, Node's binary and other files ${m.file.toFixed(0)}), peak ${m.peak.toFixed(0)} MB, CPU ${m.cpuSeconds.toFixed(1)} s, applied in ${m.appliedSeconds.toFixed(1)} s`;
}

execFileSync(process.execPath, [new URL("../scripts/build.ts", import.meta.url).pathname], { stdio: "inherit" });
const flagSets = values["node-flags"]?.map((flags) => flags.split(" ").filter(Boolean)) ?? [imageNodeFlags()];
for (const flags of flagSets) {
  const label = flags.join(" ") || "no flags";
  const floor = await nodeFloor(flags);
  console.log(
    `[${label}] Node's floor (HTTP server, hash, one HTTPS GET): RSS ${floor.rss.toFixed(0)} MB (anonymous ${floor.anon.toFixed(0)}, Node's binary and other files ${floor.file.toFixed(0)})`,
  );
  console.log(line(`[${label}] one device × 20 modules`, await measure(flags, 1, 20)));
  console.log(
    line(
      `[${label}] ${DEVICES} devices × ${MODULES_PER_DEVICE} modules`,
      await measure(flags, DEVICES, MODULES_PER_DEVICE),
    ),
  );
}
