// IoT Edge modules as real containers: the agent runs as a Pod from its Helm chart (the chart's image,
// security settings and RBAC) on a real node, and the test module images (agent/test/images) show
// what kwok cannot — names, binds, crashes, health checks, stopped modules, and why a pod cannot start.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { identitySecret } from "../../src/hub/identities.ts";
import type { ModuleStatus } from "../../src/crd/edgeDeployment.ts";
import { CERT_KEYS, DEVICE_CA_SECRET } from "../../src/translate/identity.ts";
import { manifest, userModule } from "../fixtures/manifests.ts";
import { createNamespace, edgeDeployment } from "../integration/harness.ts";
import {
  AGENT_IMAGE,
  AGENT_NAMESPACE,
  type Cluster,
  TEST_IMAGES,
  installAgent,
  kubectl,
  moduleEvents,
  startRealNodeCluster,
  waitFor,
  waitForModule,
} from "./harness.ts";

const DEVICE = "device-1";
const never = { imagePullPolicy: "never" };
const env = (values: Record<string, string>) => ({
  env: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])),
});
/** A device manifest whose edgeHub is a test image too (so nothing waits on a registry). */
const deviceManifest = (modules: Record<string, unknown>) =>
  manifest({
    modules,
    edgeHubExtra: { settings: { image: TEST_IMAGES.echo, createOptions: "{}" }, ...never },
  });

describe("modules on a real node, the agent as a Pod", { timeout: 900_000 }, () => {
  let cluster: Cluster;

  /** A namespace with the device's EdgeDeployment; `hubMode` as when the hub bridge wrote it. */
  async function deploy(namespace: string, modules: Record<string, unknown>, hubMode = false): Promise<void> {
    await createNamespace(cluster, namespace).catch(() => undefined);
    await cluster.admin.apply(
      edgeDeployment(namespace, DEVICE, deviceManifest(modules), hubMode ? 1 : undefined),
      "test",
    );
  }

  before(async () => {
    cluster = await startRealNodeCluster([AGENT_IMAGE, ...Object.values(TEST_IMAGES)]);
    installAgent(cluster);
  });

  after(async () => {
    await cluster.plane.stop();
    cluster.admin.close();
  });

  it("runs the agent from the chart on the node, with the chart's security settings", async () => {
    type AgentPods = {
      items: {
        spec: { nodeName: string; containers: { image: string; securityContext: Record<string, unknown> }[] };
        status: { containerStatuses?: { ready: boolean }[] };
      }[];
    };
    const agentPods = (): AgentPods =>
      JSON.parse(
        kubectl(
          cluster,
          "get",
          "pods",
          "-n",
          AGENT_NAMESPACE,
          "-l",
          "app.kubernetes.io/name=edgek8s-agent",
          "-o",
          "json",
        ),
      ) as AgentPods;
    // helm --wait returns once the Deployment is available, which the chart's maxUnavailable: 100%
    // (a rollout never waits for a standby) makes true before the pod is ready: wait for readiness.
    await waitFor(
      "the agent pod ready (leader, working)",
      () => Promise.resolve(agentPods().items[0]?.status.containerStatuses?.[0]?.ready === true),
      60_000,
      () => JSON.stringify(agentPods().items[0]?.status ?? {}),
    );
    const agent = agentPods().items[0]!;
    assert.equal(agent.spec.nodeName, "edgek8s-node");
    assert.equal(agent.spec.containers[0]!.image, AGENT_IMAGE);
    assert.equal(agent.spec.containers[0]!.securityContext["readOnlyRootFilesystem"], true);
    assert.equal(agent.status.containerStatuses?.[0]!.ready, true);
  });

  it("lets a module call another by its module id, on a port it does not declare", async () => {
    const ns = "rn-names";
    await deploy(ns, {
      echoServer: userModule(TEST_IMAGES.echo, {}, never),
      caller: userModule(TEST_IMAGES.caller, {}, { ...never, ...env({ TARGET: "echoServer:8081" }) }),
    });
    await waitFor(
      "caller reaching echoServer by name",
      () => Promise.resolve(moduleEvents(cluster, ns, "caller").some((e) => e["ok"] === true)),
      120_000,
      () => JSON.stringify(moduleEvents(cluster, ns, "caller").slice(-2)),
    );
  });

  describe("binds from the host", () => {
    let dir: string;
    let server: Server;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "edgek8s-binds-"));
      chmodSync(dir, 0o755);
      writeFileSync(join(dir, "file"), "hello from the host\n", { mode: 0o644 });
      server = createServer((socket) => {
        socket.on("data", (data) => socket.end(`pong:${data.toString()}`));
      });
      await new Promise<void>((resolve) => server.listen(join(dir, "socket"), resolve));
      chmodSync(join(dir, "socket"), 0o666);
    });
    after(() => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("binds a file and a unix socket as they are", async () => {
      const ns = "rn-binds";
      await deploy(ns, {
        binds: userModule(
          TEST_IMAGES.binds,
          { HostConfig: { Binds: [`${dir}/file:/host/file:ro`, `${dir}/socket:/host/socket`] } },
          never,
        ),
      });
      await waitFor(
        "the binds module's report",
        () => Promise.resolve(moduleEvents(cluster, ns, "binds").some((e) => e["event"] === "binds")),
        120_000,
        () => kubectl(cluster, "get", "events", "-n", ns),
      );
      const report = moduleEvents(cluster, ns, "binds").find((e) => e["event"] === "binds")!;
      assert.deepEqual(
        { file: report["file"], socket: report["socket"] },
        { file: "hello from the host", socket: "pong:ping" },
      );
    });
  });

  it("shows a crash as back-off, with the real restart count and exit code", async () => {
    const ns = "rn-crash";
    await deploy(ns, { crash: userModule(TEST_IMAGES.crash, {}, { ...never, ...env({ EXIT_CODE: "3" }) }) });
    // Between exits the restarted container runs for a moment (and is reported running): wait for
    // the back-off that follows the second restart.
    const inBackoff = (s: ModuleStatus) => ["backoff", "failed"].includes(s.runtimeStatus);
    const status = await waitForModule(
      cluster,
      ns,
      DEVICE,
      "crash",
      (s) => s.restartCount >= 2 && s.exitCode === 3 && inBackoff(s),
    );
    assert.ok(status.lastExitTimeUtc, "the exit time is reported");
  });

  it("restarts a container whose health check fails", async () => {
    const ns = "rn-health";
    await deploy(ns, {
      unhealthy: userModule(
        TEST_IMAGES.unhealthy,
        { Healthcheck: { Test: ["CMD", "/usr/local/bin/node", "/app/check.js"], Interval: 1e9, Retries: 2 } },
        never,
      ),
    });
    await waitForModule(cluster, ns, DEVICE, "unhealthy", (s) => s.restartCount >= 1);
    assert.match(kubectl(cluster, "get", "events", "-n", ns), /Unhealthy.*[Ll]iveness probe failed/);
  });

  it("keeps no container of a stopped module", async () => {
    const ns = "rn-stopped";
    const node = cluster.plane.realNode!;
    const containers = () =>
      node
        .ctr(
          "containers",
          "ls",
          "-q",
          `labels."io.kubernetes.pod.namespace"==${ns},labels."io.kubernetes.container.name"==sleeper`,
        )
        .split("\n")
        .filter((id) => id !== "");
    const running = () => containers().filter((id) => node.runningTasks().includes(id));
    await deploy(ns, { sleeper: userModule(TEST_IMAGES.echo, {}, never) });
    await waitForModule(cluster, ns, DEVICE, "sleeper", (s) => s.runtimeStatus === "running");
    assert.equal(running().length, 1, "a running module has its container");
    await deploy(ns, { sleeper: userModule(TEST_IMAGES.echo, {}, { ...never, status: "stopped" }) });
    await waitForModule(cluster, ns, DEVICE, "sleeper", (s) => s.runtimeStatus === "stopped");
    await waitFor("the container to stop", () => Promise.resolve(running().length === 0), 60_000);
  });

  describe("why a pod cannot start", () => {
    it("reports an image that is not present", async () => {
      const ns = "rn-absent";
      await deploy(ns, { absent: userModule("localhost/edgek8s-test/absent:1", {}, never) });
      const status = await waitForModule(cluster, ns, DEVICE, "absent", (s) =>
        /ErrImageNeverPull/.test(s.statusDescription ?? ""),
      );
      assert.equal(status.runtimeStatus, "backoff");
    });

    it("reports a missing Secret", async () => {
      const ns = "rn-secret";
      await createNamespace(cluster, ns);
      await cluster.admin.apply(caSecret(ns), "test");
      await deploy(ns, { sensor: userModule(TEST_IMAGES.echo, {}, never) }, true);
      await waitForModule(cluster, ns, DEVICE, "sensor", (s) =>
        /CreateContainerConfigError.*secret "sensor-identity" not found/.test(s.statusDescription ?? ""),
      );
    });

    it("reports a volume that cannot be mounted (FailedMount)", async () => {
      const ns = "rn-mount";
      await createNamespace(cluster, ns);
      await cluster.admin.apply(moduleIdentity(ns, "sensor"), "test");
      await deploy(ns, { sensor: userModule(TEST_IMAGES.echo, {}, never) }, true);
      await waitForModule(cluster, ns, DEVICE, "sensor", (s) =>
        /FailedMount.*edgehub-ca/.test(s.statusDescription ?? ""),
      );
    });
  });

  it("gives a module its IoT Hub identity as the device SDK's fromEnvironment reads it", async () => {
    const ns = "rn-sdk";
    await createNamespace(cluster, ns);
    await cluster.admin.apply(caSecret(ns), "test");
    await cluster.admin.apply(moduleIdentity(ns, "sdkModule"), "test");
    await deploy(ns, { sdkModule: userModule(TEST_IMAGES.sdkEnv, {}, never) }, true);
    await waitFor(
      "the sdk-env module's report",
      () => Promise.resolve(moduleEvents(cluster, ns, "sdkmodule").some((e) => e["event"] === "sdk-env")),
      120_000,
      () => kubectl(cluster, "get", "pods,events", "-n", ns),
    );
    const report = moduleEvents(cluster, ns, "sdkmodule").find((e) => e["event"] === "sdk-env")!;
    assert.deepEqual(report, {
      event: "sdk-env",
      module: "sdkModule",
      ok: true,
      deviceId: DEVICE,
      moduleId: "sdkModule",
      gatewayHostName: "edgehub",
      hasKey: true,
      caCertificate: true,
    });
  });

  /** The device CA Secret the hub bridge writes (its certificate only matters here). */
  function caSecret(namespace: string) {
    return {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: DEVICE_CA_SECRET, namespace },
      stringData: { [CERT_KEYS.caCert]: readCa() },
    };
  }

  function readCa(): string {
    return kubectl(cluster, "get", "configmap", "kube-root-ca.crt", "-n", "default", "-o", "jsonpath={.data.ca\\.crt}");
  }

  /** A module's identity Secret exactly as the hub bridge writes it. */
  function moduleIdentity(namespace: string, moduleId: string) {
    const device = { hostName: "test-hub.azure-devices.net", deviceId: DEVICE, sharedAccessKey: "ZGV2aWNl" };
    return identitySecret(namespace, device, {
      moduleId,
      key: Buffer.from(`key of ${moduleId}`).toString("base64"),
      generationId: "638000000000000000",
    });
  }
});
