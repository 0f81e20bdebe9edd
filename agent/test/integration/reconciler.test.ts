import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { V1Deployment, V1PersistentVolumeClaim, V1Service } from "@kubernetes/client-node";
import {
  AGENT_SA,
  type Cluster,
  agentClient,
  createNamespace,
  editDeploymentTemplate,
  edgeDeployment,
  getObject,
  settle,
  startCluster,
  startController,
  waitFor,
} from "./harness.ts";
import type { EdgeDeploymentStatus } from "../../src/crd/edgeDeployment.ts";
import type { KubeClient } from "../../src/kube/client.ts";
import { KubeError } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { RESOURCES } from "../../src/kube/resources.ts";
import type { Controller } from "../../src/reconcile/controller.ts";
import { readPodWarnings } from "../../src/reconcile/podWarnings.ts";
import { silentLogger } from "../../src/runtime/log.ts";
import { manifest, userModule } from "../fixtures/manifests.ts";

const NS = "msiot-test-hub-line1";
const OTHER_NS = "msiot-test-hub-line2";
const DEVICE = "line1";
const AGENT_USER = `system:serviceaccount:${NS}:${AGENT_SA}`;

function sensors(image = "contoso.azurecr.io/sensor:1.0", extra: Record<string, unknown> = {}) {
  return manifest({
    modules: {
      sensor: userModule(image, { ExposedPorts: { "9090/tcp": {} } }, extra),
      store: userModule("contoso.azurecr.io/store:2.0", { HostConfig: { Binds: ["store_data:/data"] } }),
    },
  });
}

describe("reconciler against a real API server", () => {
  let cluster: Cluster;
  let agent: KubeClient;
  let controller: Controller;
  const agentWrites = () => cluster.plane.writes().filter((w) => w.user === AGENT_USER);
  const status = async () =>
    (await getObject<KubeObject & { status?: EdgeDeploymentStatus }>(cluster.admin, "EdgeDeployment", NS, DEVICE))
      ?.status;
  const deployment = (name: string) => getObject<V1Deployment>(cluster.admin, "Deployment", NS, name);
  // Server-side apply as the platform team would: no resourceVersion, so the agent's status writes never conflict.
  const updateSpec = async (next: unknown) => {
    await cluster.admin.apply(edgeDeployment(NS, DEVICE, next), "platform-team");
  };

  before(async () => {
    cluster = await startCluster({ auditLog: true });
    await createNamespace(cluster, NS);
    await createNamespace(cluster, OTHER_NS);
    agent = await agentClient(cluster, NS);
    controller = await startController(agent, [NS]);
  });
  after(async () => {
    await controller.stop();
    agent.close();
    cluster.admin.close();
    await cluster.plane.stop();
  });

  it("creates each module's objects with the expected fields, owned by the EdgeDeployment", async () => {
    const created = await cluster.admin.apply(edgeDeployment(NS, DEVICE, sensors(), 3), "platform-team");
    await waitFor("sensor deployment", async () => (await deployment("sensor")) !== undefined, 15_000);
    await settle(controller, cluster.plane);
    const sensor = await deployment("sensor");
    assert.equal(sensor?.spec?.template.spec?.containers[0]?.image, "contoso.azurecr.io/sensor:1.0");
    assert.deepEqual(
      sensor?.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]),
      [["EdgeDeployment", DEVICE, created.metadata?.uid, true]],
    );
    assert.ok(sensor?.metadata?.managedFields?.some((f) => f.manager === "edgek8s-agent" && f.operation === "Apply"));
    assert.ok(await deployment("edgehub"));
    assert.deepEqual(
      (await getObject<V1Service>(cluster.admin, "Service", NS, "sensor"))?.spec?.ports?.map((p) => p.port),
      [9090],
    );
    assert.ok(await getObject(cluster.admin, "ServiceAccount", NS, "sensor"));
    assert.ok(await getObject(cluster.admin, "PersistentVolumeClaim", NS, "store-data"));
    const s = await status();
    assert.equal(s?.observedGeneration, 1);
    assert.equal(s?.desiredVersion, 3);
    assert.deepEqual(s?.lastDesiredStatus, { code: 200, description: "" });
    assert.deepEqual(Object.keys(s?.modules ?? {}).sort(), ["$edgeHub", "sensor", "store"]);
    assert.equal(s?.modulesReady, "0/3");
  });

  it("writes nothing on a resync when nothing changed (counted from the API server's audit log)", async () => {
    const before = agentWrites().length;
    controller.resync();
    await settle(controller, cluster.plane);
    controller.resync();
    await settle(controller, cluster.plane);
    assert.deepEqual(agentWrites().slice(before), []);
  });

  it("updates the Deployment when the image changes", async () => {
    await updateSpec(sensors("contoso.azurecr.io/sensor:1.1"));
    await waitFor(
      "new image",
      async () =>
        (await deployment("sensor"))?.spec?.template.spec?.containers[0]?.image === "contoso.azurecr.io/sensor:1.1",
      15_000,
    );
    await settle(controller, cluster.plane);
    assert.equal((await status())?.observedGeneration, 2);
  });

  it("scales a stopped module to zero", async () => {
    await updateSpec(sensors("contoso.azurecr.io/sensor:1.1", { status: "stopped" }));
    await waitFor("replicas 0", async () => (await deployment("sensor"))?.spec?.replicas === 0, 15_000);
  });

  it("reverts a hand edit of a field it manages", async () => {
    await settle(controller, cluster.plane);
    await editDeploymentTemplate(cluster.admin, NS, "sensor", { image: "evil.example/miner:1" }, "kubectl-edit");
    await waitFor(
      "image reverted",
      async () =>
        (await deployment("sensor"))?.spec?.template.spec?.containers[0]?.image === "contoso.azurecr.io/sensor:1.1",
      15_000,
    );
  });

  it("an invalid spec sets Degraded/InvalidManifest with JSON paths, touches no object and is not retried in a loop", async () => {
    await settle(controller, cluster.plane);
    const versions = async () =>
      Promise.all(["edgehub", "sensor", "store"].map(async (n) => (await deployment(n))?.metadata?.resourceVersion));
    const before = await versions();
    const writesBefore = agentWrites().length;
    const reconcilesBefore =
      controller.metrics.reconciles.get({ result: "success" }) + controller.metrics.reconciles.get({ result: "error" });
    const broken = sensors("contoso.azurecr.io/sensor:1.2");
    const modules = broken.modulesContent.$edgeAgent["properties.desired"].modules as Record<
      string,
      { settings: { createOptions: string } }
    >;
    modules["sensor"]!.settings.createOptions = "{not json";
    await updateSpec(broken);
    await waitFor(
      "Degraded",
      async () =>
        (await status())?.conditions?.some(
          (c) => c.type === "Degraded" && c.status === "True" && c.reason === "InvalidManifest",
        ) === true,
      15_000,
    );
    await settle(controller, cluster.plane);
    await new Promise((r) => setTimeout(r, 1000));
    const s = await status();
    assert.match(
      s?.conditions?.find((c) => c.type === "Degraded")?.message ?? "",
      /spec\.edgeAgent\.modules\.sensor\.settings\.createOptions: is not valid JSON/,
    );
    assert.equal(s?.lastDesiredStatus?.code, 400);
    assert.deepEqual(await versions(), before, "no object changed");
    assert.deepEqual(
      agentWrites()
        .slice(writesBefore)
        .map((w) => w.resource)
        .sort(),
      ["edgedeployments", "events"],
      "only status and one event",
    );
    const reconciles =
      controller.metrics.reconciles.get({ result: "success" }) +
      controller.metrics.reconciles.get({ result: "error" }) -
      reconcilesBefore;
    assert.ok(reconciles <= 3, `${reconciles} passes in over a second: a hot loop`);
  });

  it("removes a removed module's objects and keeps its claim", async () => {
    const onlySensor = manifest({
      modules: { sensor: userModule("contoso.azurecr.io/sensor:1.1", { ExposedPorts: { "9090/tcp": {} } }) },
    });
    await updateSpec(onlySensor);
    await waitFor("store removed", async () => (await deployment("store")) === undefined, 15_000);
    assert.equal(await getObject(cluster.admin, "ServiceAccount", NS, "store"), undefined);
    assert.ok(
      await getObject<V1PersistentVolumeClaim>(cluster.admin, "PersistentVolumeClaim", NS, "store-data"),
      "claim kept",
    );
    const s = await status();
    assert.deepEqual(Object.keys(s?.modules ?? {}).sort(), ["$edgeHub", "sensor"]);
    assert.equal(s?.conditions?.find((c) => c.type === "Degraded")?.status, "False");
  });

  it("deletes a claim when the module opted in with pvcRetention: Delete", async () => {
    const withScratch = manifest({
      modules: {
        scratch: userModule("x/scratch:1", {
          HostConfig: { Binds: ["scratch_data:/d"] },
          "k8s-experimental": { pvcRetention: "Delete" },
        }),
      },
    });
    await updateSpec(withScratch);
    await waitFor(
      "claim made",
      async () => (await getObject(cluster.admin, "PersistentVolumeClaim", NS, "scratch-data")) !== undefined,
      15_000,
    );
    await updateSpec(manifest({ modules: {} }));
    await waitFor(
      "claim deleted",
      async () => {
        const pvc = await getObject<V1PersistentVolumeClaim>(
          cluster.admin,
          "PersistentVolumeClaim",
          NS,
          "scratch-data",
        );
        return pvc === undefined || pvc.metadata?.deletionTimestamp !== undefined;
      },
      15_000,
    );
  });

  it("recovers by itself when the API server stops and comes back", async () => {
    await cluster.plane.stopApiServer();
    await new Promise((r) => setTimeout(r, 1500));
    await cluster.plane.startApiServer();
    await updateSpec(sensors("contoso.azurecr.io/sensor:2.0"));
    await waitFor(
      "applied after restart",
      async () =>
        (await deployment("sensor"))?.spec?.template.spec?.containers[0]?.image === "contoso.azurecr.io/sensor:2.0",
      40_000,
    );
  });

  it("reads the latest Warning of each starting pod with one list of the namespace's events, however many pods", async () => {
    const at = (minute: number) => `2026-08-01T00:0${minute}:00Z`;
    const podEvent = (uid: string, minute: number, reason: string, type = "Warning") =>
      cluster.admin.create({
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `pod-${uid}.${minute}`, namespace: NS },
        involvedObject: { apiVersion: "v1", kind: "Pod", name: `pod-${uid}`, namespace: NS, uid },
        reason,
        message: `${reason} at ${minute}`,
        type,
        source: { component: "kubelet" },
        firstTimestamp: at(minute),
        lastTimestamp: at(minute),
        count: 1,
      });
    await podEvent("uid-a", 1, "FailedMount");
    await podEvent("uid-a", 3, "FailedCreatePodSandBox");
    await podEvent("uid-a", 4, "Pulled", "Normal");
    await podEvent("uid-b", 2, "FailedMount");
    await podEvent("uid-c", 5, "FailedMount");
    let lists = 0;
    const counting: Pick<KubeClient, "list"> = {
      list: async <T extends KubeObject>(...args: Parameters<KubeClient["list"]>) => {
        lists += 1;
        return agent.list<T>(...args);
      },
    };
    const starting = ["uid-a", "uid-b", "uid-d"].map((uid) => ({ metadata: { name: `pod-${uid}`, uid } }));
    const warnings = await readPodWarnings(counting, NS, starting, silentLogger);
    assert.deepEqual(Object.fromEntries(warnings), {
      "uid-a": { reason: "FailedCreatePodSandBox", message: "FailedCreatePodSandBox at 3" },
      "uid-b": { reason: "FailedMount", message: "FailedMount at 2" },
    });
    assert.equal(lists, 1, "one list for the namespace, not one per starting pod");
    assert.equal((await readPodWarnings(counting, NS, [], silentLogger)).size, 0);
    assert.equal(lists, 1, "no starting pod, no request");
  });

  it("RBAC: with the agent's Role and a real ServiceAccount token it is refused in another namespace", async () => {
    const status = async (call: Promise<unknown>) =>
      call.then(
        () => 200,
        (e: unknown) => (e instanceof KubeError ? e.status : -1),
      );
    assert.equal(await status(agent.list(RESOURCES.Deployment, { namespace: OTHER_NS })), 403);
    assert.equal(
      await status(
        agent.apply(
          { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "x", namespace: OTHER_NS } },
          "edgek8s-agent",
        ),
      ),
      403,
    );
    assert.equal(await status(agent.list(RESOURCES.Deployment, { namespace: NS })), 200);
    assert.equal(await status(agent.list({ apiVersion: "v1", kind: "Node", plural: "nodes", namespaced: false })), 403);
    assert.equal(
      await status(
        agent.apply(
          { ...edgeDeployment(NS, DEVICE, sensors()), metadata: { name: DEVICE, namespace: NS } },
          "edgek8s-agent",
        ),
      ),
      403,
      "spec is not the agent's to write",
    );
  });
});
