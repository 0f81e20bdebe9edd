import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  AGENT_SA,
  type Cluster,
  RELEASE_CRD_FILE,
  agentClient,
  createNamespace,
  settle,
  startCluster,
  startController,
  waitFor,
} from "./harness.ts";
import type { EdgeDeploymentStatus } from "../../src/crd/edgeDeployment.ts";
import type { EdgeReleaseStatus } from "../../src/crd/edgeRelease.ts";
import { type KubeClient, KubeError } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { RESOURCES } from "../../src/kube/resources.ts";
import type { Controller } from "../../src/reconcile/controller.ts";
import { TAGS_ANNOTATION } from "../../src/releases/observed.ts";
import { RELEASE_ENGINE_MANAGER, ReleaseEngine } from "../../src/releases/releaseEngine.ts";
import { silentLogger } from "../../src/runtime/log.ts";
import { manifest, userModule } from "../fixtures/manifests.ts";

const AGENT_NS = "edgek8s-system";
const AGENT_USER = `system:serviceaccount:${AGENT_NS}:${AGENT_SA}`;
const HUB = "local-hub.azure-devices.net";
const ns = (deviceId: string) => `msiot-local-hub-${deviceId}`;

type EdgeDeploymentObject = KubeObject & {
  spec?: { desiredVersion?: number; edgeAgent?: { modules?: Record<string, { settings?: { image?: string } }> } };
  status?: EdgeDeploymentStatus;
};
type EdgeReleaseObject = KubeObject & { status?: EdgeReleaseStatus };

const sensor = (image: string) => manifest({ modules: { sensor: userModule(image) } }).modulesContent;

function release(
  name: string,
  spec: { track: string; priority: number; target: string; content: unknown; layer?: boolean },
) {
  return {
    apiVersion: "edgek8s.io/v1",
    kind: "EdgeRelease",
    metadata: { name },
    spec: {
      track: spec.track,
      layer: spec.layer ?? false,
      priority: spec.priority,
      targetCondition: spec.target,
      modulesContent: spec.content,
    },
  };
}

const cameraLayer = { $edgeAgent: { "properties.desired.modules.camera": userModule("contoso.azurecr.io/camera:1") } };

describe("release engine against a real API server, with the chart's RBAC", () => {
  let cluster: Cluster;
  let agent: KubeClient;
  let engine: ReleaseEngine;
  let controller: Controller;
  /** Writes by the engine: device specs (not the reconciler's status) and release statuses. */
  const engineWrites = () =>
    cluster.plane
      .writes()
      .filter(
        (w) =>
          w.user === AGENT_USER &&
          ((w.resource === "edgedeployments" && w.subresource === undefined) || w.resource === "edgereleases"),
      );
  const device = (id: string) =>
    cluster.admin.get<EdgeDeploymentObject>(RESOURCES.EdgeDeployment, ns(id), id) as Promise<EdgeDeploymentObject>;
  const modules = async (id: string) => {
    const spec = (await device(id)).spec;
    return Object.fromEntries(
      Object.entries(spec?.edgeAgent?.modules ?? {}).map(([m, v]) => [m, v.settings?.image ?? ""]),
    );
  };
  const statusOf = async (name: string) =>
    (await cluster.admin.get<EdgeReleaseObject>(RESOURCES.EdgeRelease, undefined, name))?.status;
  const setTags = (id: string, tags: Record<string, unknown>) =>
    cluster.admin.apply(
      {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns(id), annotations: { [TAGS_ANNOTATION]: JSON.stringify(tags) } },
      },
      "pulumi-kubernetes",
    );
  const retarget = (name: string, target: string) =>
    cluster.admin.apply(
      { apiVersion: "edgek8s.io/v1", kind: "EdgeRelease", metadata: { name }, spec: { targetCondition: target } },
      "edgek8s-rollout",
    );
  /** Waits until the engine and the reconciler have nothing left to do. */
  const settled = () => settle([engine, controller], cluster.plane, 500);

  before(async () => {
    cluster = await startCluster({ auditLog: true, crdFiles: [RELEASE_CRD_FILE] });
    await createNamespace(cluster, AGENT_NS);
    const tags: Record<string, Record<string, unknown>> = {
      "gw-1": { site: "west", ring: "canary", camera: true },
      "gw-2": { site: "west" },
      "till-1": { site: "shop" },
      "own-1": { site: "east" },
    };
    for (const [id, deviceTags] of Object.entries(tags)) {
      await createNamespace(cluster, ns(id));
      await setTags(id, deviceTags);
      // Track devices: Pulumi writes the EdgeDeployment without content; own-1 has its own manifest.
      const own =
        id === "own-1" ? { edgeAgent: sensor("contoso.azurecr.io/own:1").$edgeAgent["properties.desired"] } : {};
      const hub = id === "own-1" ? { edgeHub: sensor("x").$edgeHub["properties.desired"] } : {};
      await cluster.admin.apply(
        {
          apiVersion: "edgek8s.io/v1",
          kind: "EdgeDeployment",
          metadata: { name: id, namespace: ns(id) },
          spec: { deviceId: id, hubHostName: HUB, ...own, ...hub },
        },
        "pulumi-kubernetes",
      );
    }
    agent = await agentClient(cluster, AGENT_NS, [
      ...["--set", "watch.mode=all", "--set", "hubBridge.enabled=false", "--set", "releaseEngine.enabled=true"],
    ]);
    controller = await startController(agent, [undefined], { localReleases: true });
    engine = new ReleaseEngine(agent, silentLogger, { debounceMs: 50 });
    await engine.start();
  });
  after(async () => {
    await engine.stop();
    await controller.stop();
    agent.close();
    cluster.admin.close();
    await cluster.plane.stop();
  });

  it("a device no release targets yet reports 417 (no deployment configuration set)", async () => {
    await waitFor("gw-2 reported", async () => (await device("gw-2")).status?.lastDesiredStatus !== undefined, 15_000);
    assert.equal((await device("gw-2")).status?.lastDesiredStatus?.code, 417);
  });

  it("gives every targeted device its release, merged with the layers that target it", async () => {
    await cluster.admin.apply(
      release("ek8s-factory-aaaaaaaaaaa1", {
        track: "factory",
        priority: 1,
        target: "tags.site = 'west'",
        content: sensor("sensor:1"),
      }),
      "pulumi-kubernetes",
    );
    await cluster.admin.apply(
      release("ek8s-shop-bbbbbbbbbbb1", {
        track: "shop",
        priority: 100_001,
        target: "tags.site = 'shop'",
        content: sensor("till:1"),
      }),
      "pulumi-kubernetes",
    );
    await cluster.admin.apply(
      release("ek8s-vision-ccccccccccc1", {
        track: "vision",
        layer: true,
        priority: 1_000_001,
        target: "tags.camera = true",
        content: cameraLayer,
      }),
      "pulumi-kubernetes",
    );
    await waitFor("gw-1 has the layer", async () => (await modules("gw-1"))["camera"] !== undefined, 15_000);
    await settled();
    assert.deepEqual(await modules("gw-1"), { sensor: "sensor:1", camera: "contoso.azurecr.io/camera:1" });
    assert.deepEqual(await modules("gw-2"), { sensor: "sensor:1" });
    assert.deepEqual(await modules("till-1"), { sensor: "till:1" });
    for (const id of ["gw-1", "gw-2", "till-1"]) {
      const written = await device(id);
      assert.equal(written.spec?.desiredVersion, 1, id);
      assert.ok(
        (written.metadata?.managedFields as { manager?: string }[] | undefined)?.some(
          (f) => f.manager === RELEASE_ENGINE_MANAGER,
        ),
        id,
      );
      // The reconciler acted on it as a local device (no IoT Hub identities): 200.
      assert.equal(written.status?.lastDesiredStatus?.code, 200, id);
    }
  });

  it("modules of a local device get no IoT Hub identity, though the engine set a desired version", async () => {
    const deployment = await cluster.admin.get<
      KubeObject & { spec?: { template?: { spec?: { containers?: { env?: { name: string }[] }[] } } } }
    >(RESOURCES.Deployment, ns("gw-2"), "sensor");
    const env = deployment?.spec?.template?.spec?.containers?.[0]?.env?.map((e) => e.name) ?? [];
    assert.ok(env.includes("IOTEDGE_DEVICEID"), env.join(","));
    assert.ok(!env.includes("EdgeHubConnectionString"), env.join(","));
  });

  it("never touches a device no release targets", async () => {
    assert.deepEqual(await modules("own-1"), { sensor: "contoso.azurecr.io/own:1" });
    assert.equal((await device("own-1")).spec?.desiredVersion, undefined);
    assert.deepEqual(
      engineWrites().filter((w) => w.namespace === ns("own-1")),
      [],
    );
  });

  it("records Applied/Targeted devices and IoT Hub's system metrics in each release's status", async () => {
    await waitFor(
      "factory reported successful",
      async () => (await statusOf("ek8s-factory-aaaaaaaaaaa1"))?.systemMetrics?.["reportedSuccessfulCount"] === 2,
      15_000,
    );
    assert.deepEqual(await statusOf("ek8s-factory-aaaaaaaaaaa1"), {
      observedGeneration: 1,
      applied: ["gw-1", "gw-2"],
      targeted: [],
      systemMetrics: { targetedCount: 2, appliedCount: 2, reportedSuccessfulCount: 2, reportedFailedCount: 0 },
    });
    const vision = await statusOf("ek8s-vision-ccccccccccc1");
    assert.deepEqual(vision?.applied, ["gw-1"]);
    assert.equal(vision?.systemMetrics?.["reportedSuccessfulCount"], 1);
  });

  it("a staged release (target '') changes nothing", async () => {
    const before = engineWrites().filter((w) => w.resource === "edgedeployments").length;
    await cluster.admin.apply(
      release("ek8s-factory-aaaaaaaaaaa2", { track: "factory", priority: 2, target: "", content: sensor("sensor:2") }),
      "pulumi-kubernetes",
    );
    await waitFor("staged status", async () => (await statusOf("ek8s-factory-aaaaaaaaaaa2")) !== undefined, 15_000);
    await settled();
    assert.equal(engineWrites().filter((w) => w.resource === "edgedeployments").length, before);
    assert.deepEqual((await statusOf("ek8s-factory-aaaaaaaaaaa2"))?.systemMetrics, {
      targetedCount: 0,
      appliedCount: 0,
      reportedSuccessfulCount: 0,
      reportedFailedCount: 0,
    });
  });

  it("the higher priority wins where two releases target a device; the lower one is Targeted there", async () => {
    await retarget("ek8s-factory-aaaaaaaaaaa2", "tags.site = 'west' AND tags.ring = 'canary'");
    await waitFor("gw-1 on sensor:2", async () => (await modules("gw-1"))["sensor"] === "sensor:2", 15_000);
    await settled();
    assert.deepEqual(await modules("gw-1"), { sensor: "sensor:2", camera: "contoso.azurecr.io/camera:1" });
    assert.equal((await device("gw-1")).spec?.desiredVersion, 2);
    assert.deepEqual(await modules("gw-2"), { sensor: "sensor:1" });
    assert.equal((await device("gw-2")).spec?.desiredVersion, 1);
    const stable = await statusOf("ek8s-factory-aaaaaaaaaaa1");
    assert.deepEqual([stable?.applied, stable?.targeted], [["gw-2"], ["gw-1"]]);
    assert.equal(stable?.systemMetrics?.["targetedCount"], 2);
  });

  it("a tag change moves a device", async () => {
    await setTags("gw-2", { site: "west", ring: "canary" });
    await waitFor("gw-2 on sensor:2", async () => (await modules("gw-2"))["sensor"] === "sensor:2", 15_000);
    assert.equal((await device("gw-2")).spec?.desiredVersion, 2);
    assert.equal((await modules("gw-2"))["camera"], undefined);
  });

  it("a deleted release: its devices take on the next highest-priority release, with a new version", async () => {
    await cluster.admin.delete(RESOURCES.EdgeRelease, undefined, "ek8s-factory-aaaaaaaaaaa2");
    await waitFor("gw-1 back on sensor:1", async () => (await modules("gw-1"))["sensor"] === "sensor:1", 15_000);
    await waitFor("gw-2 back on sensor:1", async () => (await modules("gw-2"))["sensor"] === "sensor:1", 15_000);
    assert.equal((await device("gw-1")).spec?.desiredVersion, 3);
    assert.equal((await device("gw-2")).spec?.desiredVersion, 3);
  });

  it("a device no release targets any more keeps what it runs", async () => {
    const before = await device("till-1");
    await setTags("till-1", { site: "closed" });
    await waitFor(
      "shop targets nothing",
      async () => (await statusOf("ek8s-shop-bbbbbbbbbbb1"))?.systemMetrics?.["targetedCount"] === 0,
      15_000,
    );
    const after = await device("till-1");
    assert.deepEqual(after.spec, before.spec);
  });

  it("counts a device that refused its deployment as failed", async () => {
    const bad = manifest({ schemaVersion: "9.9" }).modulesContent;
    await cluster.admin.apply(
      release("ek8s-shop-bbbbbbbbbbb2", {
        track: "shop",
        priority: 100_002,
        target: "deviceId = 'till-1'",
        content: bad,
      }),
      "pulumi-kubernetes",
    );
    await waitFor(
      "failed reported",
      async () => (await statusOf("ek8s-shop-bbbbbbbbbbb2"))?.systemMetrics?.["reportedFailedCount"] === 1,
      15_000,
    );
    assert.equal((await device("till-1")).status?.lastDesiredStatus?.code, 412);
  });

  it("reports a target condition that does not parse and content that is not twin paths, targeting nothing", async () => {
    await cluster.admin.apply(
      release("ek8s-shop-bbbbbbbbbbb3", {
        track: "shop",
        priority: 100_003,
        target: "tags.site = = 'shop'",
        content: sensor("x"),
      }),
      "pulumi-kubernetes",
    );
    await cluster.admin.apply(
      release("ek8s-shop-bbbbbbbbbbb4", {
        track: "shop",
        priority: 100_004,
        target: "deviceId = 'till-1'",
        content: { $edgeAgent: 5 },
      }),
      "pulumi-kubernetes",
    );
    await waitFor(
      "errors reported",
      async () => (await statusOf("ek8s-shop-bbbbbbbbbbb4"))?.contentError !== undefined,
      15_000,
    );
    assert.match(
      (await statusOf("ek8s-shop-bbbbbbbbbbb3"))?.conditionError ?? "",
      /^targetCondition: .* at character 13$/,
    );
    assert.match(
      (await statusOf("ek8s-shop-bbbbbbbbbbb4"))?.contentError ?? "",
      /^spec\.modulesContent\.\$edgeAgent: /,
    );
    assert.deepEqual((await statusOf("ek8s-shop-bbbbbbbbbbb4"))?.applied, []);
  });

  it("writes nothing at rest, however often it evaluates", async () => {
    await settled();
    const before = cluster.plane.writes().filter((w) => w.user === AGENT_USER).length;
    // Events that make the engine evaluate again without changing anything it decides on.
    for (let i = 0; i < 3; i++) {
      await cluster.admin.apply(
        { apiVersion: "v1", kind: "Namespace", metadata: { name: ns("own-1"), labels: { touch: String(i) } } },
        "someone-else",
      );
      const evaluated = engine.evaluations;
      await waitFor("the engine evaluating the touch", () => Promise.resolve(engine.evaluations > evaluated), 15_000);
      await engine.idle();
    }
    await settled();
    assert.deepEqual(
      cluster.plane
        .writes()
        .filter((w) => w.user === AGENT_USER)
        .slice(before),
      [],
    );
  });

  it("--release-eval-interval: evaluates when it starts, then only at its cadence, as IoT Hub does", async () => {
    await engine.stop();
    // A change while no engine runs is picked up by the first evaluation, "shortly after" start.
    await setTags("gw-2", { site: "shop" });
    engine = new ReleaseEngine(agent, silentLogger, { evalIntervalMs: 3_600_000, debounceMs: 50 });
    await engine.start();
    await waitFor("gw-2 on till:1", async () => (await modules("gw-2"))["sensor"] === "till:1", 15_000);
    await settled();
    // The next change waits for the next evaluation, an hour away: seen by the engine, not evaluated.
    const before = engineWrites().length;
    const evaluated = engine.evaluations;
    const seen = engine.changes;
    await setTags("gw-1", { site: "shop" });
    await waitFor("the engine seeing the change", () => Promise.resolve(engine.changes > seen), 15_000);
    await engine.idle();
    await settled();
    assert.equal(engine.evaluations, evaluated, "a change between intervals is not evaluated");
    assert.equal(engineWrites().length, before);
    assert.equal((await modules("gw-1"))["sensor"], "sensor:1");
  });

  it("holds only the rights it needs (the chart's ServiceAccount)", async () => {
    const denied = async (call: Promise<unknown>) =>
      call.then(
        () => 200,
        (error: unknown) => (error instanceof KubeError ? error.status : 0),
      );
    assert.equal(
      await denied(agent.create(release("ek8s-x-1", { track: "x", priority: 1, target: "", content: {} }))),
      403,
    );
    assert.equal(await denied(agent.delete(RESOURCES.EdgeRelease, undefined, "ek8s-shop-bbbbbbbbbbb1")), 403);
    assert.equal(await denied(agent.delete(RESOURCES.Namespace, undefined, ns("gw-1"))), 403);
    assert.equal(
      await denied(agent.create({ ...(await device("gw-1")), metadata: { name: "x", namespace: ns("gw-1") } })),
      403,
    );
  });
});
