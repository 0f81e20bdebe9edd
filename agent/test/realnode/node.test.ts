// The real node itself (scripts/cluster/realNode): pods are real processes, Services and cluster DNS
// work, the API server reaches kubelet for logs and exec, and a stop leaves nothing on the host.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import type { NodeState } from "../../../scripts/cluster/realNode/cleanup.ts";
import { leftovers } from "../../../scripts/cluster/realNode/cleanup.ts";
import { type Cluster, TEST_IMAGES, kubectl, startRealNodeCluster, waitFor } from "./harness.ts";

const hostChains = (): string[] =>
  execFileSync("iptables-save", { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.startsWith(":"))
    .sort();

const pod = (name: string, image: string, env: Record<string, string>, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", labels },
  spec: {
    containers: [
      {
        name,
        image,
        imagePullPolicy: "Never",
        env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
      },
    ],
  },
});

describe("real node", { timeout: 300_000 }, () => {
  let cluster: Cluster;
  let state: NodeState;
  const chainsBefore = hostChains();

  before(async () => {
    cluster = await startRealNodeCluster([TEST_IMAGES.echo, TEST_IMAGES.caller]);
    state = cluster.plane.realNode!.state;
    const objects = [
      pod("echo", TEST_IMAGES.echo, { IOTEDGE_MODULEID: "echo" }, { app: "echo" }),
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "echo-svc", namespace: "default" },
        spec: { selector: { app: "echo" }, ports: [{ port: 80, targetPort: 8081 }] },
      },
      pod("caller", TEST_IMAGES.caller, { TARGET: "echo-svc:80", IOTEDGE_MODULEID: "caller" }),
    ];
    cluster.plane.kubectl(["apply", "-f", "-"], objects.map((o) => JSON.stringify(o)).join("\n"));
  });

  after(async () => {
    await cluster.plane.stop();
    cluster.admin.close();
  });

  it("runs pods as real containers on a Ready node", async () => {
    await waitFor(
      "pods running",
      () =>
        Promise.resolve(
          kubectl(cluster, "get", "pods", "-o", "jsonpath={.items[*].status.phase}") === "Running Running",
        ),
      60_000,
    );
    const node = JSON.parse(kubectl(cluster, "get", "node", "edgek8s-node", "-o", "json")) as {
      status: { nodeInfo: { containerRuntimeVersion: string } };
    };
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
    assert.ok(cluster.plane.realNode!.runningTasks().length >= 4, "two sandboxes and two containers run");
  });

  it("serves a ClusterIP Service by its name through cluster DNS and kube-proxy", async () => {
    await waitFor(
      "a call from caller to echo-svc",
      () => Promise.resolve(/"ok":true,"status":200/.test(kubectl(cluster, "logs", "caller"))),
      60_000,
      () => kubectl(cluster, "logs", "caller", "--tail=3"),
    );
  });

  it("lets the API server reach kubelet: logs and exec", () => {
    assert.match(kubectl(cluster, "logs", "echo"), /"event":"listening"/);
    const out = kubectl(cluster, "exec", "echo", "--", "/usr/local/bin/node", "-p", "process.getuid()");
    assert.equal(out.trim(), "1000", "the image's user");
  });

  it("stops leaving no process, mount, cgroup, network device or host iptables chain", async () => {
    await cluster.plane.stop();
    assert.deepEqual(leftovers(state), []);
    assert.deepEqual(hostChains(), chainsBefore);
  });
});
