import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import {
  AGENT_SA,
  type Cluster,
  agentClient,
  createNamespace,
  edgeDeployment,
  getObject,
  settle,
  startCluster,
  startController,
  waitFor,
} from "./harness.ts";
import type { EdgeDeploymentStatus } from "../../src/crd/edgeDeployment.ts";
import type { KubeClient } from "../../src/kube/client.ts";
import { NotLeaderError } from "../../src/kube/fence.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { RESOURCES } from "../../src/kube/resources.ts";
import type { ClusterCache } from "../../src/reconcile/cache.ts";
import type { Controller } from "../../src/reconcile/controller.ts";
import { Reconciler } from "../../src/reconcile/reconciler.ts";
import { silentLogger } from "../../src/runtime/log.ts";
import { DEFAULT_TRANSLATION_DEFAULTS } from "../../src/translate/context.ts";
import { manifest, userModule } from "../fixtures/manifests.ts";

// Items 2, 3 and 6 of issue 16, against a real API server: each test failed before the fix.
const NS = "msiot-test-hub-faults";
const AGENT_USER = `system:serviceaccount:${NS}:${AGENT_SA}`;

type EdgeDeploymentObject = KubeObject & { status?: EdgeDeploymentStatus };

describe("reconciler: status never goes back, shared claims are never gated, claims applied once", () => {
  let cluster: Cluster;
  let agent: KubeClient;
  let controller: Controller;
  const status = async (name: string) =>
    (await getObject<EdgeDeploymentObject>(cluster.admin, "EdgeDeployment", NS, name))?.status;

  before(async () => {
    cluster = await startCluster({ auditLog: true });
    await createNamespace(cluster, NS);
    // The DefaultStorageClass admission plugin fills in a claim's storageClassName from this class.
    await cluster.admin.apply(
      {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: "standard", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
        provisioner: "example.com/none",
      },
      "platform-team",
      undefined,
      { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", plural: "storageclasses", namespaced: false },
    );
    // The agent's ServiceAccount with the chart's RBAC, as in every other reconciler test.
    agent = await agentClient(cluster, NS);
    controller = await startController(agent, [NS]);
  });
  after(async () => {
    await controller.stop();
    agent.close();
    cluster.admin.close();
    await cluster.plane.stop();
  });

  it("a fenced client sends no write while its fence refuses (reads go on), and writes again once allowed", async () => {
    let leading = false;
    const fenced = agent.with({
      fence: {
        assertMayWrite: (what) => {
          if (!leading) throw new NotLeaderError(`not leading: ${what}`);
        },
      },
    });
    const account = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "fenced", namespace: NS } };
    const writesBefore = cluster.plane.writes().filter((w) => w.user === AGENT_USER).length;
    await assert.rejects(fenced.apply(account, "edgek8s-agent"), NotLeaderError);
    await assert.rejects(fenced.delete(RESOURCES.ServiceAccount, NS, "fenced"), NotLeaderError);
    assert.equal(await fenced.get(RESOURCES.ServiceAccount, NS, "fenced"), undefined);
    assert.equal(cluster.plane.writes().filter((w) => w.user === AGENT_USER).length, writesBefore, "nothing sent");
    leading = true;
    await fenced.apply(account, "edgek8s-agent");
    assert.ok(await fenced.get(RESOURCES.ServiceAccount, NS, "fenced"));
  });

  it("a pass that read an older EdgeDeployment cannot lower status.observedGeneration", async () => {
    const spec = manifest({ modules: { sensor: userModule("x/sensor:1") } });
    // The object as a watch first delivered it: generation 1, no status yet.
    const before = await cluster.admin.apply(edgeDeployment(NS, "stale", spec, 1), "platform-team");
    await waitFor("observed 1", async () => (await status("stale"))?.observedGeneration === 1, 15_000);
    await settle(controller, cluster.plane);
    // A new desired version (generation 2) that changes no object: only status follows it.
    await cluster.admin.apply(edgeDeployment(NS, "stale", spec, 2), "platform-team");
    await waitFor("observed 2", async () => (await status("stale"))?.observedGeneration === 2, 15_000);
    await settle(controller, cluster.plane);

    // Every version of the object from now on, as a reader watching it sees them (the controller
    // would correct a backwards write within milliseconds; a reader in that window is misled).
    const current = await getObject<EdgeDeploymentObject>(cluster.admin, "EdgeDeployment", NS, "stale");
    const seen: (number | undefined)[] = [];
    const watching = new AbortController();
    const watch = cluster.admin.watch<EdgeDeploymentObject>(
      RESOURCES.EdgeDeployment,
      { namespace: NS, fieldSelector: "metadata.name=stale" },
      current?.metadata?.resourceVersion ?? "",
      (event) => {
        if (event.type === "MODIFIED") seen.push(event.object.status?.observedGeneration);
      },
      watching.signal,
    );
    // A pass from a cache that has not seen generation 2 yet (a replica resumed after a pause).
    const staleCache = Object.assign(Object.create(controller.cache) as ClusterCache, {
      edgeDeployment: () => before,
    });
    const stalePass = new Reconciler(agent, staleCache, { defaults: DEFAULT_TRANSLATION_DEFAULTS }, silentLogger);
    await stalePass.reconcile(`${NS}/stale`).catch(() => undefined);
    await settle(controller, cluster.plane);
    watching.abort();
    await watch;
    assert.deepEqual(
      seen.filter((g) => g !== 2),
      [],
      "observedGeneration as readers saw it",
    );
    assert.equal((await status("stale"))?.observedGeneration, 2);
  });

  it("a claim two modules share exists before the lower startupOrder module needs it", async () => {
    // `alpha` sorts first and has the higher startupOrder; `beta` must start first and mounts the same volume.
    const shared = manifest({
      modules: {
        alpha: userModule("x/alpha:1", { HostConfig: { Binds: ["shared:/data"] } }, { startupOrder: 2 }),
        beta: userModule("x/beta:1", { HostConfig: { Binds: ["shared:/data"] } }, { startupOrder: 1 }),
      },
    });
    await cluster.admin.apply(edgeDeployment(NS, "shared", shared), "platform-team");
    await waitFor(
      "beta applied",
      async () => (await getObject(cluster.admin, "Deployment", NS, "beta")) !== undefined,
      15_000,
    );
    await settle(controller, cluster.plane);
    // No kubelet here: beta never becomes available, so alpha waits — but beta's claim must exist.
    assert.equal(await getObject(cluster.admin, "Deployment", NS, "alpha"), undefined, "alpha waits for beta");
    assert.ok(
      await getObject<V1PersistentVolumeClaim>(cluster.admin, "PersistentVolumeClaim", NS, "shared"),
      "the claim beta mounts exists",
    );
  });

  it("applies a new claim once, though the API server fills in its storageClassName", async () => {
    const claimWrites = () =>
      cluster.plane
        .writes()
        .filter((w) => w.user === AGENT_USER && w.resource === "persistentvolumeclaims" && w.name === "once-data");
    await cluster.admin.apply(
      edgeDeployment(
        NS,
        "once",
        manifest({ modules: { store: userModule("x/store:1", { HostConfig: { Binds: ["once_data:/data"] } }) } }),
      ),
      "platform-team",
    );
    await waitFor(
      "claim made",
      async () =>
        (await getObject<V1PersistentVolumeClaim>(cluster.admin, "PersistentVolumeClaim", NS, "once-data"))?.spec
          ?.storageClassName === "standard",
      15_000,
    );
    await settle(controller, cluster.plane);
    controller.resync();
    await settle(controller, cluster.plane);
    assert.equal(
      claimWrites().length,
      1,
      claimWrites()
        .map((w) => `${w.verb} ${w.code ?? ""}`)
        .join(", "),
    );
  });
});
