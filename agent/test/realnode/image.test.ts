// The agent image as users get it (agent/Dockerfile, built by scripts/image): as uid 1000 with a
// read-only root filesystem, the chart's settings, it answers --help, and runs as the operator
// against a test API server — health, readiness, an EdgeDeployment applied, SIGTERM exits 0.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { freePort } from "../../../scripts/cluster/processes.ts";
import { removeCgroup } from "../../../scripts/cluster/realNode/cleanup.ts";
import {
  type Cluster,
  agentClient,
  createNamespace,
  edgeDeployment,
  getObject,
  startCluster,
  waitFor,
} from "../integration/harness.ts";
import { manifest, userModule } from "../fixtures/manifests.ts";
import { AGENT_IMAGE } from "./harness.ts";

const IMAGE_SCRIPT = fileURLToPath(new URL("../../../scripts/image", import.meta.url));
const CGROUP = `/edgek8s-image-test-${process.pid}`;
/** The chart's container security settings, as podman flags. */
const AS_THE_CHART_RUNS_IT = [
  "--read-only",
  "--user=1000:1000",
  "--cap-drop=ALL",
  "--security-opt=no-new-privileges",
  `--cgroup-parent=${CGROUP}`,
];
const podman = (args: readonly string[]) => [IMAGE_SCRIPT, ["--podman", ...args]] as const;

describe("agent image", { timeout: 180_000 }, () => {
  let cluster: Cluster;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "edgek8s-image-test-"));
    cluster = await startCluster();
  });

  after(async () => {
    await cluster.plane.stop();
    cluster.admin.close();
    rmSync(work, { recursive: true, force: true });
    assert.ok(await removeCgroup(CGROUP), "the containers' cgroup is removed");
  });

  it("answers --help as uid 1000 with a read-only root filesystem", () => {
    const out = execFileSync(...podman(["run", "--rm", ...AS_THE_CHART_RUNS_IT, AGENT_IMAGE, "--help"]), {
      encoding: "utf8",
    });
    assert.match(out, /^Usage: edgek8s <command>/m);
  });

  it("runs as the operator: healthy, ready, applies an EdgeDeployment, exits 0 on SIGTERM", async () => {
    const namespace = "image-test";
    await createNamespace(cluster, namespace);
    const client = await agentClient(cluster, namespace);
    client.close();
    const { yaml } = await cluster.plane.serviceAccountKubeConfig(namespace, "edgek8s-agent");
    writeFileSync(join(work, "kubeconfig"), yaml, { mode: 0o644 });
    const port = await freePort();
    const agent: ChildProcess = spawn(
      ...podman([
        "run",
        "--rm",
        "--network=host",
        ...AS_THE_CHART_RUNS_IT,
        `--volume=${join(work, "kubeconfig")}:/etc/edgek8s/kubeconfig:ro`,
        AGENT_IMAGE,
        "agent",
        `--namespace=${namespace}`,
        "--kubeconfig=/etc/edgek8s/kubeconfig",
        `--listen=127.0.0.1:${port}`,
      ]),
      { stdio: ["ignore", "inherit", "pipe"] },
    );
    let log = "";
    agent.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
    const exited = once(agent, "exit") as Promise<[number | null, string | null]>;
    const status = async (path: string) =>
      (await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined))?.status;
    try {
      await waitFor(
        "agent ready",
        async () => (await status("/readyz")) === 200,
        60_000,
        () => log,
      );
      assert.equal(await status("/healthz"), 200);
      await cluster.admin.create(
        edgeDeployment(namespace, "device-1", manifest({ modules: { sensor: userModule("contoso/sensor:1") } })),
      );
      await waitFor(
        "the module's Deployment",
        async () => (await getObject(cluster.admin, "Deployment", namespace, "sensor")) !== undefined,
        60_000,
        () => log,
      );
    } finally {
      agent.kill("SIGTERM");
    }
    const [code] = await exited;
    assert.equal(code, 0, `the agent exits 0 after SIGTERM; its log:\n${log}`);
    assert.match(log, /"msg":"stopped"/);
  });
});
