// The hub bridge against IoT Hub as it really behaves (the double refuses what IoT Hub refuses): a new
// device's keyless identities, identities IoT Edge made before, the 50-identity limit, a throttled or
// unavailable registry, a re-created device, a lost notification, and reported properties near the
// 32 KB limit. One device and namespace per scenario; real control plane, real SDKs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Cluster,
  agentClient,
  createNamespace,
  getObject,
  startCluster,
  startController,
  waitFor,
} from "./harness.ts";
import { DEFAULT_AGENT_INFO } from "../../src/hub/bridge.ts";
import { sdkConnector } from "../../src/hub/connector.ts";
import { reportedProperties } from "../../src/hub/reported.ts";
import type { EdgeDeploymentStatus } from "../../src/crd/edgeDeployment.ts";
import { DEVICE_CONNECTION_STRING_KEY, DEVICE_CREDENTIALS_SECRET } from "../../src/hub/credentials.ts";
import { HubBridges } from "../../src/hub/manager.ts";
import type { Controller } from "../../src/reconcile/controller.ts";
import { jsonLogger } from "../../src/runtime/log.ts";
import { readExample } from "../fixtures/manifests.ts";
import { HubDouble } from "../hub/hubDouble.ts";
import { registryFor } from "../hub/serviceClient.ts";
import { twinSize } from "../hub/twinRules.ts";
import { TwinService } from "../hub/twinService.ts";

type Json = Record<string, unknown>;
const AGENT = "$edgeAgent";

function quickstart(): Json {
  const content = (readExample("quickstart.json") as { modulesContent: Record<string, { "properties.desired": Json }> })
    .modulesContent;
  return structuredClone(content["$edgeAgent"]?.["properties.desired"] ?? {});
}

function withModules(desired: Json, modules: Record<string, Json>): Json {
  return { ...desired, modules: { ...(desired["modules"] as Json), ...modules } };
}

const module = (image: string, createOptions?: string): Json => ({
  version: "1.0",
  type: "docker",
  status: "running",
  restartPolicy: "always",
  settings: { image, ...(createOptions !== undefined ? { createOptions } : {}) },
});

describe("hub bridge against IoT Hub's real behaviour", { timeout: 300_000 }, () => {
  let cluster: Cluster;
  const hub = new HubDouble("faults-hub.azure-devices.net");
  let twins: TwinService;
  const logs: string[] = [];
  const running: { bridges: HubBridges; controller: Controller }[] = [];

  const namespaceOf = (deviceId: string) => `msiot-faults-${deviceId}`;
  const reported = (deviceId: string) => twins.reported(deviceId, AGENT) as Json & { modules?: Record<string, Json> };
  const specVersion = async (deviceId: string) =>
    (
      await getObject<{ spec: { desiredVersion?: number } }>(
        cluster.admin,
        "EdgeDeployment",
        namespaceOf(deviceId),
        deviceId,
      )
    )?.spec.desiredVersion;
  /** Registry requests about a device's identities (an outage answers before it knows who asks). */
  const registryCalls = (deviceId: string) =>
    hub.requests.filter((r) => r.registry && decodeURIComponent(r.path).startsWith(`/devices/${deviceId}/`));
  const reportedCode = (deviceId: string) => (reported(deviceId)["lastDesiredStatus"] as Json | undefined)?.["code"];
  const applied = (deviceId: string, version: number) => async () =>
    Promise.resolve(reported(deviceId)["lastDesiredVersion"] === version && reportedCode(deviceId) === 200);

  async function writeCredentials(deviceId: string): Promise<void> {
    await cluster.admin.apply(
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: DEVICE_CREDENTIALS_SECRET, namespace: namespaceOf(deviceId) },
        stringData: { [DEVICE_CONNECTION_STRING_KEY]: hub.deviceConnectionString(deviceId) },
      },
      "edgek8s-pulumi",
    );
  }

  /** A device as `pulumi up` leaves it, and an agent (controller + hub bridge) for its namespace. */
  async function startDevice(deviceId: string, twinRefreshMs = 3_600_000): Promise<() => Promise<void>> {
    const namespace = namespaceOf(deviceId);
    if (!hub.devices.has(deviceId)) {
      hub.addEdgeDevice(deviceId);
      await createNamespace(cluster, namespace);
      await writeCredentials(deviceId);
    }
    const agent = await agentClient(cluster, namespace, []);
    const controller = await startController(agent, [namespace]);
    const bridges = new HubBridges({
      kube: agent,
      namespaces: [namespace],
      connector: sdkConnector({ transport: "mqtt-ws", agent: hub.agent() }),
      log: jsonLogger((line) => logs.push(line), "debug"),
      agent: DEFAULT_AGENT_INFO,
      heartbeatMs: 60_000,
      twinRefreshMs,
      minBackoffMs: 200,
      maxBackoffMs: 1000,
      connectTimeoutMs: 5000,
      operationTimeoutMs: 3000,
    });
    await bridges.start();
    const entry = { bridges, controller };
    running.push(entry);
    return async () => {
      running.splice(running.indexOf(entry), 1);
      await bridges.stop();
      await controller.stop();
    };
  }

  before(async () => {
    await hub.start();
    twins = new TwinService(hub);
    cluster = await startCluster({ full: true, nodes: 1 });
  });

  after(async () => {
    if (process.env["EDGEK8S_DEBUG_HUB"]) console.log(logs.join("\n"));
    try {
      await Promise.race([
        Promise.all(running.map((r) => r.bridges.stop().then(() => r.controller.stop()))),
        sleep(20_000),
      ]);
    } finally {
      await cluster.plane.stop();
      await twins.close();
      await hub.stop();
    }
  });

  it("a device fresh from IoT Hub: keyless system identities get keys; IoT Edge's leftovers go, others' stay", async () => {
    const owner = registryFor(hub, "registryReadWrite");
    hub.addEdgeDevice("fresh");
    await createNamespace(cluster, namespaceOf("fresh"));
    await writeCredentials("fresh");
    // Identities a real IoT Edge runtime (and an operator) left under the device.
    await owner.addModule({ deviceId: "fresh", moduleId: "OldEdgeModule", managedBy: "IotEdge" });
    await owner.addModule({ deviceId: "fresh", moduleId: "Monitoring", managedBy: "ops-team" });
    await startDevice("fresh");
    const version = twins.setDesired(
      "fresh",
      AGENT,
      withModules(quickstart(), { Pump: module("contoso.azurecr.io/pump:1.0") }),
    );
    await waitFor("applied", applied("fresh", version), 60_000, () =>
      JSON.stringify(reported("fresh")["lastDesiredStatus"]),
    );
    const modules = hub.devices.get("fresh")?.modules;
    for (const id of [AGENT, "$edgeHub", "Pump", "SimulatedTemperatureSensor"])
      assert.equal(modules?.get(id)?.authentication.type, "sas", `${id} has keys`);
    assert.equal(modules?.get("Pump")?.managedBy, "IotEdge", "IoT Edge's own value, as its agent writes it");
    assert.equal(modules?.has("OldEdgeModule"), false, "made by IoT Edge, no longer deployed: removed");
    assert.equal(modules?.get("Monitoring")?.managedBy, "ops-team", "not IoT Edge's: left alone");
    assert.ok(
      hub.requests.some(
        (r) =>
          r.operation === "putModule" &&
          decodeURIComponent(r.path).endsWith("/$edgeAgent") &&
          r.principal === "device:fresh",
      ),
      "the keyless $edgeAgent was updated with the device's own key",
    );
  });

  it("more module identities than IoT Hub allows (50) are refused with 400 naming the field, nothing provisioned", async () => {
    const before = [...(hub.devices.get("fresh")?.modules.keys() ?? [])].sort();
    const good = await specVersion("fresh");
    const many = Object.fromEntries(
      Array.from({ length: 49 }, (_, i) => [`m${String(i)}`, module(`contoso.azurecr.io/m:${String(i)}`)]),
    );
    const version = twins.setDesired("fresh", AGENT, { ...quickstart(), modules: many });
    await waitFor(
      "reported 400",
      async () => Promise.resolve(reported("fresh")["lastDesiredVersion"] === version),
      30_000,
    );
    assert.equal(reportedCode("fresh"), 400);
    const description = String((reported("fresh")["lastDesiredStatus"] as Json)["description"]);
    assert.match(
      description,
      /\$edgeAgent\.properties\.desired\.modules: 49 modules .* 51 module identities; IoT Hub allows 50/,
    );
    assert.deepEqual([...(hub.devices.get("fresh")?.modules.keys() ?? [])].sort(), before);
    assert.equal(await specVersion("fresh"), good, "the cluster keeps the last good deployment");
  });

  it("a throttled, then unavailable, identity registry does not drop a desired version: it is retried until applied", async () => {
    await startDevice("throttled");
    let version = twins.setDesired("throttled", AGENT, quickstart());
    await waitFor("first version", applied("throttled", version), 60_000);
    hub.registryPerMinute = 0;
    try {
      version = twins.setDesired(
        "throttled",
        AGENT,
        withModules(quickstart(), { Pump: module("contoso.azurecr.io/pump:1.0") }),
      );
      await waitFor(
        "a 429",
        async () => Promise.resolve(registryCalls("throttled").some((r) => r.status === 429)),
        30_000,
      );
    } finally {
      hub.registryPerMinute = undefined;
    }
    await waitFor("applied after the throttle", applied("throttled", version), 30_000, () =>
      JSON.stringify(reported("throttled")),
    );
    assert.equal(await specVersion("throttled"), version);
    hub.unavailable = true;
    try {
      version = twins.setDesired(
        "throttled",
        AGENT,
        withModules(quickstart(), { Valve: module("contoso.azurecr.io/valve:1.0") }),
      );
      await waitFor(
        "a 503",
        async () => Promise.resolve(registryCalls("throttled").some((r) => r.status === 503)),
        30_000,
      );
    } finally {
      hub.unavailable = false;
    }
    await waitFor("applied after the outage", applied("throttled", version), 30_000);
    assert.ok(hub.devices.get("throttled")?.modules.has("Valve"));
  });

  it("a re-created device: the stored $edgeAgent key is dead, so the identity is read again and the bridge reconnects", async () => {
    await startDevice("recreated");
    const version = twins.setDesired("recreated", AGENT, quickstart());
    await waitFor("first version", applied("recreated", version), 60_000);
    const connects = twins.connects.length;
    await registryFor(hub).delete("recreated");
    hub.addEdgeDevice("recreated");
    await writeCredentials("recreated"); // what the next pulumi up writes
    await waitFor(
      "reconnected with a renewed identity",
      async () => Promise.resolve(twins.connects.slice(connects).includes(`recreated/${AGENT}`)),
      30_000,
      () => JSON.stringify(twins.refusals.slice(-2)),
    );
    const next = twins.setDesired("recreated", AGENT, quickstart());
    await waitFor("applied on the new device", applied("recreated", next), 60_000);
    const sensor = await getObject<{ data: Record<string, string> }>(
      cluster.admin,
      "Secret",
      namespaceOf("recreated"),
      "simulatedtemperaturesensor-identity",
    );
    const key = hub.devices.get("recreated")?.modules.get("SimulatedTemperatureSensor")?.authentication
      .symmetricKey.primaryKey;
    const stored = Buffer.from(sensor?.data["connectionString"] ?? "", "base64").toString();
    assert.ok(
      key !== undefined && key !== null && stored.includes(`SharedAccessKey=${key};`),
      "the Secret holds the new key",
    );
  });

  it("a stored $edgeAgent identity made for another hub is not used", async () => {
    const namespace = namespaceOf("moved");
    hub.addEdgeDevice("moved");
    await createNamespace(cluster, namespace);
    await writeCredentials("moved");
    await cluster.admin.apply(
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "edgeagent-identity",
          namespace,
          labels: { "app.kubernetes.io/managed-by": "edgek8s-hub-bridge" },
        },
        stringData: {
          connectionString: `HostName=old-hub.azure-devices.net;DeviceId=moved;ModuleId=${AGENT};SharedAccessKey=${Buffer.from("old").toString("base64")}`,
        },
      },
      "edgek8s-hub-bridge",
    );
    await startDevice("moved");
    await waitFor("connected", async () => Promise.resolve(twins.connected.includes(`moved/${AGENT}`)), 30_000);
  });

  it("a change whose notification was lost is found by the periodic fetch of the whole twin", async () => {
    await startDevice("refreshed", 1500);
    let version = twins.setDesired("refreshed", AGENT, quickstart());
    await waitFor("first version", applied("refreshed", version), 60_000);
    version = twins.setDesired(
      "refreshed",
      AGENT,
      withModules(quickstart(), { Pump: module("contoso.azurecr.io/pump:1.0") }),
      false,
    );
    await waitFor("found without a notification", async () => (await specVersion("refreshed")) === version, 30_000);
  });

  it("reported properties for 48 modules with long settings stay within IoT Hub's 32 KB, and are accepted", async () => {
    await startDevice("big");
    const modules = Object.fromEntries(
      Array.from({ length: 48 }, (_, i) => [
        `module${String(i).padStart(2, "0")}`,
        module(
          `contoso.azurecr.io/${"team/".repeat(44)}m${String(i)}:1.0`,
          JSON.stringify({ Env: [`LONG=${"v".repeat(290)}`] }),
        ),
      ]),
    );
    // About 31 KB of desired properties (IoT Hub takes 32 KB); reported as they stand, about 35 KB.
    const version = twins.setDesired("big", AGENT, { ...quickstart(), modules });
    await waitFor("accepted", applied("big", version), 120_000, () =>
      JSON.stringify(reported("big")["lastDesiredStatus"]),
    );
    assert.ok(twinSize(reported("big")) <= 32 * 1024);
    const edgeDeployment = await getObject<{ spec: { edgeAgent: Json }; status: EdgeDeploymentStatus }>(
      cluster.admin,
      "EdgeDeployment",
      namespaceOf("big"),
      "big",
    );
    const unfitted = reportedProperties({
      agent: DEFAULT_AGENT_INFO,
      lastDesiredVersion: version,
      lastDesiredStatus: { code: 200, description: "" },
      desired: edgeDeployment?.spec.edgeAgent,
      status: edgeDeployment?.status,
      heartbeatUtc: new Date().toISOString(),
    });
    assert.ok(twinSize(unfitted) > 32 * 1024, "reported as it stood, IoT Hub would have refused it");
    assert.deepEqual(
      twins.reportedPatches.filter((p) => p.deviceId === "big" && p.status !== 204).map((p) => p.status),
      [],
      "no reported patch was refused",
    );
    assert.equal(Object.keys(reported("big").modules ?? {}).length, 48);
  });
});
