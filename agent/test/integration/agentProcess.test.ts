import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { V1Deployment } from "@kubernetes/client-node";
import {
  AGENT_SA,
  type Cluster,
  agentClient,
  createNamespace,
  edgeDeployment,
  getObject,
  startCluster,
  waitFor,
} from "./harness.ts";
import { freePort } from "../../../scripts/cluster/processes.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { BIN } from "../fixtures/cli.ts";
import { manifest, userModule } from "../fixtures/manifests.ts";

const NS = "msiot-test-hub-ha";

interface AgentProcess {
  readonly identity: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path, timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    }).on("error", reject);
  });
}

describe("edgek8s agent as a process: health, metrics, JSON logs, leader election, SIGTERM", () => {
  let cluster: Cluster;
  let dir: string;
  let kubeconfig: string;
  const agents: AgentProcess[] = [];

  async function startAgent(identity: string): Promise<AgentProcess> {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        BIN,
        "agent",
        "--kubeconfig",
        kubeconfig,
        "--namespace",
        NS,
        "--listen",
        `127.0.0.1:${port}`,
        "--leader-elect",
        "--lease-duration",
        "3",
        "--identity",
        identity,
        "--shutdown-timeout",
        "5",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const lines: string[] = [];
    let buffer = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split("\n");
      buffer = parts.pop() ?? "";
      lines.push(...parts.filter((l) => l !== ""));
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const agent = { identity, port, child, lines, exited };
    agents.push(agent);
    await waitFor(`${identity} healthz`, async () => (await httpGet(port, "/healthz")).status === 200, 15_000);
    return agent;
  }

  const holder = async () =>
    (await getObject<KubeObject & { spec?: { holderIdentity?: string } }>(cluster.admin, "Lease", NS, "edgek8s-agent"))
      ?.spec?.holderIdentity;
  const image = async () =>
    (await getObject<V1Deployment>(cluster.admin, "Deployment", NS, "sensor"))?.spec?.template.spec?.containers[0]
      ?.image;

  before(async () => {
    cluster = await startCluster();
    await createNamespace(cluster, NS);
    const client = await agentClient(cluster, NS);
    client.close();
    const { yaml } = await cluster.plane.serviceAccountKubeConfig(NS, AGENT_SA);
    dir = mkdtempSync(join(tmpdir(), "edgek8s-agent-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, yaml, { mode: 0o600 });
  });
  after(async () => {
    for (const a of agents) a.child.kill("SIGKILL");
    cluster.admin.close();
    await cluster.plane.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("one of two replicas leads and reconciles; both are healthy; metrics say who leads", async () => {
    const [a, b] = [await startAgent("agent-a"), await startAgent("agent-b")];
    await waitFor("a leader", async () => (await holder()) !== undefined, 15_000);
    await cluster.admin.create(
      edgeDeployment(NS, "ha-device", manifest({ modules: { sensor: userModule("x/sensor:1") } })),
    );
    await waitFor("sensor applied", async () => (await image()) === "x/sensor:1", 20_000);
    const leader = (await holder()) === "agent-a" ? a : b;
    const standby = leader === a ? b : a;
    assert.match((await httpGet(leader.port, "/metrics")).body, /^edgek8s_leader 1$/m);
    assert.match((await httpGet(standby.port, "/metrics")).body, /^edgek8s_leader 0$/m);
    assert.match((await httpGet(leader.port, "/metrics")).body, /^edgek8s_reconcile_duration_seconds_count [1-9]/m);
    assert.equal((await httpGet(leader.port, "/readyz")).status, 200);
    for (const line of leader.lines) assert.doesNotThrow(() => JSON.parse(line) as unknown, line);
    const applied = leader.lines
      .map((l) => JSON.parse(l) as { msg: string; namespace?: string; name?: string; device?: string })
      .find((l) => l.msg === "applied");
    assert.deepEqual([applied?.namespace, applied?.name, applied?.device], [NS, "ha-device", "ha-device"]);
  });

  it("SIGTERM drains and releases the lease; the other replica takes over and keeps reconciling", async () => {
    const leaderName = await holder();
    const leader = agents.find((a) => a.identity === leaderName)!;
    const standby = agents.find((a) => a !== leader)!;
    leader.child.kill("SIGTERM");
    assert.equal(await leader.exited, 0);
    assert.ok(leader.lines.some((l) => l.includes('"msg":"shutting down"')));
    await waitFor("takeover", async () => (await holder()) === standby.identity, 15_000);
    await cluster.admin.apply(
      edgeDeployment(NS, "ha-device", manifest({ modules: { sensor: userModule("x/sensor:2") } })),
      "platform-team",
    );
    await waitFor("applied by the new leader", async () => (await image()) === "x/sensor:2", 20_000);
  });
});
