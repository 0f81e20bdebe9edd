// The rollout on IoT Hub, end to end without Azure: the hub double with its deployment engine
// (ticked in the background), reached through the real azure-iothub Registry (the driver) and the
// real azure-iot-device SDK (each device's hub bridge); a full control plane with kwok runs the
// modules; the agent reports readiness and heartbeat to the device twins.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type iothub from "azure-iothub";
import { type Cluster, crashModulePod, createNamespace, startCluster, startController, waitFor } from "./harness.ts";
import { DEFAULT_AGENT_INFO } from "../../src/hub/bridge.ts";
import { sdkConnector } from "../../src/hub/connector.ts";
import { DEVICE_CONNECTION_STRING_KEY, DEVICE_CREDENTIALS_SECRET } from "../../src/hub/credentials.ts";
import { HubBridges } from "../../src/hub/manager.ts";
import type { Controller } from "../../src/reconcile/controller.ts";
import { jsonLogger } from "../../src/runtime/log.ts";
import { type DriverResult, driveRollout } from "../../src/rollout/driver.ts";
import { HUB_RETRY } from "../../src/rollout/hubCalls.ts";
import { HubStore } from "../../src/rollout/hubStore.ts";
import type { RolloutEvent } from "../../src/rollout/output.ts";
import { parseRolloutPlan } from "../../src/rollout/plan.ts";
import { EXIT } from "../../src/rollout/stateMachine.ts";
import type { ReleaseStore } from "../../src/rollout/store.ts";
import { manifest, userModule } from "../fixtures/manifests.ts";
import { HubDouble } from "../hub/hubDouble.ts";
import { registryFor } from "../hub/serviceClient.ts";
import { TwinService } from "../hub/twinService.ts";

const HOST = "test-hub.azure-devices.net";
const TARGET = "tags.site='west'";
const DEVICES = ["canary-1", "gw-1", "gw-2"];
const TAGS: Record<string, Record<string, string>> = {
  "canary-1": { site: "west", ring: "canary" },
  "gw-1": { site: "west" },
  "gw-2": { site: "west" },
};
const ns = (id: string) => `msiot-test-hub-${id}`;
const R1 = "ek8s-factory-000000000001";
const R2 = "ek8s-factory-000000000002";
const R3 = "ek8s-factory-000000000003";
const R4 = "ek8s-factory-000000000004";
const R5 = "ek8s-factory-000000000005";

// Short gates for the test (a hub stack's preview asks for minutes: IoT Hub's cadence); the engine is
// ticked every 200 ms, so one evaluation interval (5 ticks) is a second.
const parsed = parseRolloutPlan(
  {
    rings: [
      { name: "canary", select: "tags.ring='canary'", bake: "12s", maxFailures: 0 },
      { name: "all", percent: 100, bake: "1s" },
    ],
    gates: {
      applyTimeout: "60s",
      reportTimeout: "60s",
      readyGrace: "1s",
      minExecuted: 1,
      staleAfter: "6s",
      maxUnreachablePercent: 50,
    },
    pollInterval: "300ms",
    lease: "5s",
  },
  "edgek8s:rollout",
  { hub: false },
);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const PLAN = parsed.plan;

function configuration(id: string, priority: number, image: string, targetCondition: string, state: string) {
  return {
    id,
    schemaVersion: "1.0",
    priority,
    targetCondition,
    labels: {
      "edgek8s.managed": "true",
      "edgek8s.stack": "edgek8s.hub",
      "edgek8s.track": "factory",
      "edgek8s.state": state,
    },
    content: { modulesContent: manifest({ modules: { sensor: userModule(image) } }).modulesContent },
  } as unknown as iothub.Configuration;
}

describe("edgek8s rollout on IoT Hub: the hub double's engine, the real SDKs, kwok", { timeout: 600_000 }, () => {
  const hub = new HubDouble(HOST);
  let cluster: Cluster;
  let controller: Controller;
  /** One hub bridge per device, so one device's can be stopped. */
  const bridges = new Map<string, HubBridges>();
  let registry: iothub.Registry;
  let ticker: NodeJS.Timeout;
  let twins: TwinService;
  const logs: string[] = [];

  const store = (): HubStore =>
    new HubStore({
      registry: registryFor(hub, "edgek8s-rollout"),
      hostName: HOST,
      retry: { ...HUB_RETRY, sleep: (ms) => sleep(ms), random: Math.random },
    });
  async function drive(s: ReleaseStore, holder: string, events: RolloutEvent[] = []): Promise<DriverResult> {
    return driveRollout({
      store: s,
      track: "factory",
      stackId: "edgek8s.hub",
      plan: PLAN,
      layer: false,
      command: "run",
      holder,
      clock: { now: () => new Date(), sleep: (ms) => sleep(ms) },
      emit: (e) => events.push(e),
    });
  }
  const labelOf = async (id: string, key = "edgek8s.state") =>
    (await registry.getConfiguration(id)).responseBody.labels?.[key];
  /** The device's `$edgeAgent` twin says: `release` applied, `image` desired, acted on with 200, ready for that version. */
  async function runs(id: string, release: string, image: string): Promise<boolean> {
    const twin = (await registry.getModuleTwin(id, "$edgeAgent")).responseBody as unknown as {
      configurations?: Record<string, { status?: string }>;
      properties: {
        desired: { $version: number; modules?: Record<string, { settings?: { image?: string } }> };
        reported: {
          lastDesiredVersion?: number;
          lastDesiredStatus?: { code?: number };
          edgek8s?: { ready?: boolean; readyVersion?: number };
        };
      };
    };
    const { desired, reported } = twin.properties;
    return (
      twin.configurations?.[release]?.status === "Applied" &&
      desired.modules?.["sensor"]?.settings?.image === image &&
      reported.lastDesiredVersion === desired.$version &&
      reported.lastDesiredStatus?.code === 200 &&
      reported.edgek8s?.ready === true &&
      reported.edgek8s.readyVersion === desired.$version
    );
  }
  const transitions = (events: RolloutEvent[]) =>
    events.flatMap((e) => (e.type === "transition" ? [`${e.ring}:${e.state}`] : []));

  async function startBridge(id: string): Promise<void> {
    const bridge = new HubBridges({
      kube: cluster.admin,
      namespaces: [ns(id)],
      connector: sdkConnector({ transport: "mqtt-ws", agent: hub.agent() }),
      log: jsonLogger((line) => logs.push(line), "debug"),
      agent: DEFAULT_AGENT_INFO,
      heartbeatMs: 1000,
      minBackoffMs: 200,
      maxBackoffMs: 1000,
      connectTimeoutMs: 5000,
      operationTimeoutMs: 3000,
    });
    await bridge.start();
    bridges.set(id, bridge);
  }
  /** Stops a device's bridge; one that has not stopped within 20 s fails the test (it would still be connected). */
  async function stopBridge(id: string): Promise<void> {
    const stopped = bridges
      .get(id)
      ?.stop()
      .then(() => "stopped" as const);
    const outcome = await Promise.race([stopped, sleep(20_000, "still running" as const)]);
    assert.notEqual(outcome, "still running", `the hub bridge of ${id} did not stop within 20 s`);
    bridges.delete(id);
  }

  before(async () => {
    await hub.start();
    // The MQTT-over-WebSockets side the devices' SDK connects to.
    twins = new TwinService(hub);
    // The rollout's own policy: ServiceConnect (queries, twins) and registry rights (configurations).
    const key = () => randomBytes(32).toString("base64");
    hub.policies.set("edgek8s-rollout", {
      name: "edgek8s-rollout",
      rights: ["RegistryRead", "RegistryWrite", "ServiceConnect"],
      primaryKey: key(),
      secondaryKey: key(),
    });
    registry = registryFor(hub, "edgek8s-rollout");
    cluster = await startCluster({ full: true, nodes: 1 });
    for (const id of DEVICES) {
      hub.addEdgeDevice(id);
      await registry.updateTwin(id, { tags: TAGS[id] }, "*");
      await createNamespace(cluster, ns(id));
      await cluster.admin.apply(
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: DEVICE_CREDENTIALS_SECRET, namespace: ns(id) },
          stringData: { [DEVICE_CONNECTION_STRING_KEY]: hub.deviceConnectionString(id) },
        },
        "edgek8s-pulumi",
      );
    }
    controller = await startController(
      cluster.admin,
      DEVICES.map((id) => ns(id)),
    );
    for (const id of DEVICES) await startBridge(id);
    ticker = setInterval(() => {
      hub.engine.tick();
    }, 200);
    await registry.addConfiguration(configuration(R1, 1, "sensor:1", TARGET, "Stable"));
    for (const id of DEVICES) await waitFor(`${id} on ${R1}`, () => runs(id, R1, "sensor:1"), 60_000);
  });

  after(async () => {
    clearInterval(ticker);
    if (process.env["EDGEK8S_DEBUG_HUB"]) console.log(logs.join("\n"));
    try {
      for (const id of [...bridges.keys()]) await stopBridge(id);
      await controller.stop();
    } finally {
      cluster.admin.close();
      await cluster.plane.stop();
      await twins.close();
      await hub.stop();
    }
  });

  it("canary → all through the hub's own engine: each ring applied, verified on the twins, then stable", async () => {
    await registry.addConfiguration(configuration(R2, 2, "sensor:2", "", "Staged"));
    const events: RolloutEvent[] = [];
    const result = await drive(store(), "driver-a", events);
    assert.equal(result.exit, EXIT.done, JSON.stringify(events.filter((e) => e.type === "error")));
    assert.deepEqual(transitions(events), [
      "canary:Applying",
      "canary:Verifying",
      "canary:Baking",
      "all:Applying",
      "all:Verifying",
      "all:Baking",
      "all:Stable",
    ]);
    assert.deepEqual(
      result.rings.map((r) => [r.ring, r.tally.expected, r.tally.succeeded]),
      [
        ["canary", 1, 1],
        ["all", 3, 3],
      ],
    );
    for (const id of DEVICES) assert.ok(await runs(id, R2, "sensor:2"), id);
    assert.equal(await labelOf(R2), "Stable");
    assert.equal(await labelOf(R1), "Superseded");
    assert.equal((await registry.getConfiguration(R2)).responseBody.targetCondition, TARGET);
  });

  it("a module crashing during the canary's bake aborts; the rollback is verified on the twins against the stable release", async () => {
    await registry.addConfiguration(configuration(R3, 3, "sensor:3", "", "Staged"));
    const events: RolloutEvent[] = [];
    const running = drive(store(), "driver-a", events);
    await waitFor("canary baking", async () => (await labelOf(R3)) === "Baking", 60_000);
    await crashModulePod(cluster.admin, ns("canary-1"), "sensor");
    const result = await running;
    assert.equal(result.exit, EXIT.rolledBack, JSON.stringify(events.filter((e) => e.type === "error")));
    assert.deepEqual(transitions(events).slice(-3), ["canary:Baking", "canary:Aborting", "canary:RolledBack"]);
    const aborting = events.find((e) => e.type === "transition" && e.state === "Aborting");
    assert.match(aborting?.type === "transition" ? aborting.message : "", /during bake/);
    const config = (await registry.getConfiguration(R3)).responseBody;
    assert.equal(config.targetCondition, "");
    assert.equal(config.labels?.["edgek8s.state"], "RolledBack");
    for (const id of DEVICES) assert.ok(await runs(id, R2, "sensor:2"), id);
  });

  it("two drivers at once: the one whose write carries the older etag gets 412 from the hub and exits 6", async () => {
    await registry.addConfiguration(configuration(R4, 4, "sensor:4", "", "Staged"));
    // Driver b reads the release, then its first write waits until driver a's has landed: b's
    // If-Match carries the etag a's write replaced.
    let aWrote!: () => void;
    const aFirst = new Promise<void>((resolve) => (aWrote = resolve));
    const a = store();
    const aWrite = a.write.bind(a);
    a.write = async (record, change) => {
      const written = await aWrite(record, change);
      aWrote();
      return written;
    };
    const b = store();
    const bWrite = b.write.bind(b);
    b.write = async (record, change) => {
      await aFirst;
      return bWrite(record, change);
    };
    const bEvents: RolloutEvent[] = [];
    const before = hub.requests.length;
    const [ra, rb] = await Promise.all([drive(a, "driver-a"), drive(b, "driver-b", bEvents)]);
    assert.equal(ra.exit, EXIT.done);
    assert.equal(rb.exit, EXIT.preflight);
    assert.equal(rb.state, "LostRace");
    assert.match(JSON.stringify(bEvents), /another driver changed/);
    const refused = hub.requests
      .slice(before)
      .filter((r) => r.method === "PUT" && r.path.startsWith(`/configurations/${R4}`) && r.status === 412);
    assert.equal(refused.length, 1);
    for (const id of DEVICES) assert.ok(await runs(id, R4, "sensor:4"), id);
  });

  it("a device whose bridge stops mid-rollout goes stale, counts as unreachable and does not block the ring", async () => {
    await registry.addConfiguration(configuration(R5, 5, "sensor:5", "", "Staged"));
    const events: RolloutEvent[] = [];
    const running = drive(store(), "driver-a", events);
    await waitFor("canary baking", async () => (await labelOf(R5)) === "Baking", 60_000);
    await stopBridge("gw-2");
    const result = await running;
    assert.equal(result.exit, EXIT.done, JSON.stringify(events.filter((e) => e.type === "error")));
    const all = result.rings.find((r) => r.ring === "all");
    assert.deepEqual([all?.tally.succeeded, all?.tally.unreachable, all?.tally.unreachableDevices], [2, 1, ["gw-2"]]);
    for (const id of ["canary-1", "gw-1"]) assert.ok(await runs(id, R5, "sensor:5"), id);
    assert.equal(await labelOf(R5), "Stable");
    // Reconnected, the device acts on the release it is targeted with.
    await startBridge("gw-2");
    await waitFor("gw-2 on the release", () => runs("gw-2", R5, "sensor:5"), 60_000);
  });
});
