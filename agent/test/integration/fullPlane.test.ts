import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { V1Deployment } from "@kubernetes/client-node";
import {
  type Cluster,
  crashModulePod,
  createNamespace,
  editDeploymentTemplate,
  edgeDeployment,
  getObject,
  startCluster,
  startController,
  waitFor,
} from "./harness.ts";
import { SIMULATE_ANNOTATION } from "../../../scripts/cluster/controlPlane.ts";
import type { EdgeDeploymentStatus } from "../../src/crd/edgeDeployment.ts";
import { KubeError } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { RESOURCES } from "../../src/kube/resources.ts";
import type { Controller } from "../../src/reconcile/controller.ts";
import { manifest, readExample, userModule } from "../fixtures/manifests.ts";

const NS = "msiot-test-hub-plant";
const FLAKY_NS = "msiot-test-hub-flaky";
const ORDERED_NS = "msiot-test-hub-ordered";
const VERSIONS_NS = "msiot-test-hub-versions";

describe("reconciler on a full control plane (controller-manager, scheduler, kwok nodes)", () => {
  let cluster: Cluster;
  let controller: Controller;
  const status = async (name: string, namespace = NS) =>
    (await getObject<KubeObject & { status?: EdgeDeploymentStatus }>(cluster.admin, "EdgeDeployment", namespace, name))
      ?.status;

  before(async () => {
    cluster = await startCluster({ full: true, nodes: 2, auditLog: true });
    for (const ns of [NS, FLAKY_NS, ORDERED_NS, VERSIONS_NS]) await createNamespace(cluster, ns);
    // All namespaces: the one-agent-per-cluster mode.
    controller = await startController(cluster.admin, [undefined]);
  });
  after(async () => {
    await controller.stop();
    cluster.admin.close();
    await cluster.plane.stop();
  });

  it("reports every module running once its pod runs on a kwok node, and Ready", async () => {
    await cluster.admin.create(edgeDeployment(NS, "quickstart", readExample("quickstart.json")));
    await waitFor(
      "Ready",
      async () => (await status("quickstart"))?.conditions?.find((c) => c.type === "Ready")?.status === "True",
      30_000,
    );
    const s = await status("quickstart");
    assert.equal(s?.modulesReady, "2/2");
    assert.deepEqual(Object.fromEntries(Object.entries(s?.modules ?? {}).map(([id, m]) => [id, m.runtimeStatus])), {
      $edgeHub: "running",
      SimulatedTemperatureSensor: "running",
    });
    assert.equal(s?.modules?.["$edgeHub"]?.restartCount, 0);
    assert.match(s?.modules?.["$edgeHub"]?.lastStartTimeUtc ?? "", /^\d{4}-\d\d-\d\dT/);
  });

  it("reports a crashing container as backoff with its restart count and exit code, and Degraded", async () => {
    const crashing = manifest({ modules: { flaky: userModule("x/flaky:1", {}, { startupOrder: 1 }) } });
    await cluster.admin.create(edgeDeployment(FLAKY_NS, "flaky-device", crashing));
    // edgeHub has no startupOrder (IoT Edge's default, the highest): it starts once flaky is
    // available. Crash flaky only then, or edgeHub waits for it for ever and Degraded says
    // StartupOrderBlocked instead — which of the two depended on how fast this test ran.
    await waitFor(
      "flaky and then edgehub deployed",
      async () =>
        (await getObject(cluster.admin, "Deployment", FLAKY_NS, "flaky")) !== undefined &&
        (await getObject(cluster.admin, "Deployment", FLAKY_NS, "edgehub")) !== undefined,
      30_000,
    );
    // Mark the module's pods so kwok simulates a container that keeps failing (see kwok-stages.yaml).
    await editDeploymentTemplate(
      cluster.admin,
      FLAKY_NS,
      "flaky",
      { annotations: { [SIMULATE_ANNOTATION]: "crash" } },
      "test-chaos",
    );
    await waitFor(
      "backoff",
      async () => {
        const flaky = (await status("flaky-device", FLAKY_NS))?.modules?.["flaky"];
        return flaky?.runtimeStatus === "backoff" && flaky.restartCount > 0;
      },
      30_000,
    );
    const flaky = (await status("flaky-device", FLAKY_NS))?.modules?.["flaky"];
    assert.equal(flaky?.restartCount, 3);
    assert.equal(flaky?.exitCode, 1);
    assert.match(flaky?.statusDescription ?? "", /CrashLoopBackOff/);
    const degraded = (await status("flaky-device", FLAKY_NS))?.conditions?.find((c) => c.type === "Degraded");
    assert.equal(degraded?.status, "True");
    assert.equal(degraded?.reason, "ModulesFailing");
  });

  it("starts a module only after every module with a lower startupOrder is available", async () => {
    const ordered = manifest({
      edgeHubExtra: { startupOrder: 0 },
      modules: { late: userModule("x/late:1", {}, { startupOrder: 5 }) },
    });
    await cluster.admin.create(edgeDeployment(ORDERED_NS, "ordered", ordered));
    await waitFor(
      "late deployment",
      async () => (await getObject(cluster.admin, "Deployment", ORDERED_NS, "late")) !== undefined,
      30_000,
    );
    // The API server's audit log orders the writes: edgehub created, its status updated by the
    // Deployment controller (it became available), and only then "late" created.
    const writes = cluster.plane.writes().filter((w) => w.namespace === ORDERED_NS && w.resource === "deployments");
    const createdHub = writes.findIndex(
      (w) => w.verb !== "update" && w.name === "edgehub" && w.subresource === undefined,
    );
    const createdLate = writes.findIndex(
      (w) => w.verb !== "update" && w.name === "late" && w.subresource === undefined,
    );
    const hubStatus = writes.findIndex((w) => w.name === "edgehub" && w.subresource === "status");
    assert.ok(createdHub >= 0 && hubStatus > createdHub, "edgehub created, then its status updated");
    assert.ok(createdLate > hubStatus, `late created (${createdLate}) after edgehub's status changed (${hubStatus})`);
    const hub = await getObject<V1Deployment>(cluster.admin, "Deployment", ORDERED_NS, "edgehub");
    assert.equal(hub?.status?.availableReplicas, 1);
  });

  /**
   * A hand edit of the spec, as `kubectl replace` makes it: read, then PUT with that resourceVersion.
   * The agent writes status (readiness, heartbeat) meanwhile, which moves the resourceVersion, so a
   * 409 means read again — as any client of a contended object does.
   */
  async function replaceVersions(desired: unknown, version: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const live = await getObject<KubeObject>(cluster.admin, "EdgeDeployment", VERSIONS_NS, "versions");
      try {
        await cluster.admin.replace({
          ...edgeDeployment(VERSIONS_NS, "versions", desired, version),
          metadata: live?.metadata,
        });
        return;
      } catch (error) {
        if (!(error instanceof KubeError && error.status === 409) || attempt === 5) throw error;
      }
    }
  }

  it("reports readiness for exactly the desired version: never from a pod of the previous template", async () => {
    const readinessOf = async () => (await status("versions", VERSIONS_NS))?.readiness;
    const v1 = manifest({ modules: { sensor: userModule("x/sensor:1") } });
    await cluster.admin.create(edgeDeployment(VERSIONS_NS, "versions", v1, 1));
    await waitFor("ready for version 1", async () => (await readinessOf())?.ready === true, 30_000);
    assert.deepEqual(await readinessOf(), {
      ready: true,
      readyVersion: 1,
      modulesReady: 2,
      modulesTotal: 2,
      readySince: (await readinessOf())?.readySince,
    });
    // Version 2's pod cannot be scheduled (no node has the label), so the Deployment keeps the pod of
    // version 1 running beside it (RollingUpdate never takes the only replica down first).
    const v2 = manifest({
      modules: { sensor: userModule("x/sensor:2", { "k8s-experimental": { nodeSelector: { pool: "none" } } }) },
    });
    await replaceVersions(v2, 2);
    await waitFor("readiness of version 2", async () => (await readinessOf())?.readyVersion === 2, 30_000);
    await waitFor(
      "both pods exist",
      async () => (await cluster.admin.list(RESOURCES.Pod, { namespace: VERSIONS_NS })).items.length === 3,
      30_000,
    );
    await controller.idle();
    const old = (await cluster.admin.list(RESOURCES.Pod, { namespace: VERSIONS_NS })).items.filter(
      (p) =>
        (p as { status?: { phase?: string } }).status?.phase === "Running" && p.metadata?.name?.startsWith("sensor"),
    );
    assert.equal(old.length, 1, "the pod of version 1 still runs");
    const notReady = await readinessOf();
    assert.deepEqual([notReady?.ready, notReady?.readyVersion, notReady?.modulesReady], [false, 2, 1]);
    // Version 3 can run: ready again, for version 3, with a new readySince.
    const v3 = manifest({ modules: { sensor: userModule("x/sensor:3") } });
    await replaceVersions(v3, 3);
    await waitFor(
      "ready for version 3",
      async () => {
        const r = await readinessOf();
        return r?.ready === true && r.readyVersion === 3;
      },
      30_000,
    );
    assert.ok(((await readinessOf())?.readySince ?? "") > (notReady?.readySince ?? ""));
  });

  it("a module that crashes after it started well turns the device not ready, from then on", async () => {
    const readinessOf = async () => (await status("versions", VERSIONS_NS))?.readiness;
    const before = await readinessOf();
    assert.equal(before?.ready, true);
    // kwok crashes a running pod that is given the simulate annotation (kwok-stages.yaml).
    await crashModulePod(cluster.admin, VERSIONS_NS, "sensor");
    await waitFor("not ready", async () => (await readinessOf())?.ready === false, 30_000);
    const after = await readinessOf();
    assert.deepEqual([after?.readyVersion, after?.modulesReady], [3, 1]);
    assert.ok((after?.readySince ?? "") > (before?.readySince ?? ""));
    assert.equal((await status("versions", VERSIONS_NS))?.modules?.["sensor"]?.runtimeStatus, "backoff");
  });

  it("deleting the EdgeDeployment garbage-collects every object it owns", async () => {
    await cluster.admin.delete(RESOURCES.EdgeDeployment, FLAKY_NS, "flaky-device");
    await waitFor(
      "flaky gone",
      async () => {
        const left = await Promise.all([
          getObject(cluster.admin, "Deployment", FLAKY_NS, "flaky"),
          getObject(cluster.admin, "ServiceAccount", FLAKY_NS, "flaky"),
          getObject(cluster.admin, "Deployment", FLAKY_NS, "edgehub"),
        ]);
        return left.every((o) => o === undefined);
      },
      30_000,
    );
  });
});
