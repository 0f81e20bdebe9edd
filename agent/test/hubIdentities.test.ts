// Module identities against the IoT Hub double through the real azure-iothub SDK, signed with the
// device's own key: what each sync asks of IoT Hub's identity registry, and what it leaves there.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type DeviceCredentials, parseDeviceConnectionString } from "../src/hub/connectionString.ts";
import { sdkConnector } from "../src/hub/connector.ts";
import { edgeAgentIdentity } from "../src/hub/edgeAgentIdentity.ts";
import { syncModuleIdentities } from "../src/hub/identitySync.ts";
import { HubDouble } from "./hub/hubDouble.ts";
import { memoryStore } from "./hub/memoryStore.ts";
import { registryFor } from "./hub/serviceClient.ts";

describe("hub: module identities, spending the registry budget only on change", () => {
  const hub = new HubDouble("identities-hub.azure-devices.net");
  const connector = () => sdkConnector({ transport: "mqtt-ws", agent: hub.agent() });
  let credentials: DeviceCredentials;
  const store = memoryStore("ns", () => credentials);
  const registry = () => connector().deviceRegistry(credentials);
  const registryCalls = (from: number) =>
    hub.requests
      .slice(from)
      .filter((r) => r.registry)
      .map((r) => `${r.operation ?? "?"} ${r.principal} ${String(r.status)}`);
  const sync = (wanted: string[]) => syncModuleIdentities({ credentials, wanted, store, registry });

  before(async () => {
    await hub.start();
    hub.addEdgeDevice("gw");
    credentials = parseDeviceConnectionString(hub.deviceConnectionString("gw"));
  });
  after(() => hub.stop());

  it("a fresh IoT Edge device: keyless $edgeAgent and $edgeHub get keys from updates, user modules are created IotEdge", async () => {
    const start = hub.requests.length;
    const agent = await edgeAgentIdentity(store, credentials, registry);
    assert.equal(agent.provisioned, true);
    await sync(["$edgeHub", "Sensor"]);
    assert.deepEqual(registryCalls(start), [
      "getModule device:gw 200",
      "putModule device:gw 200", // $edgeAgent: keys made by IoT Hub
      "listModules device:gw 200",
      "putModule device:gw 200", // $edgeHub: same
      "putModule device:gw 200", // Sensor: created
    ]);
    const device = hub.devices.get("gw");
    for (const id of ["$edgeAgent", "$edgeHub", "Sensor"]) {
      assert.equal(device?.modules.get(id)?.authentication.type, "sas");
      assert.equal(store.secrets.get(id)?.key, device?.modules.get(id)?.authentication.symmetricKey.primaryKey);
    }
    assert.equal(device?.modules.get("Sensor")?.managedBy, "IotEdge");
  });

  it("a restart with current Secrets asks IoT Hub nothing; a module added costs one listing and one create", async () => {
    let start = hub.requests.length;
    assert.equal((await edgeAgentIdentity(store, credentials, registry)).provisioned, false);
    assert.equal((await sync(["$edgeHub", "Sensor"])).askedHub, false);
    assert.deepEqual(registryCalls(start), []);
    start = hub.requests.length;
    await sync(["$edgeHub", "Sensor", "Pump"]);
    assert.deepEqual(registryCalls(start), ["listModules device:gw 200", "putModule device:gw 200"]);
  });

  it("removes identities IoT Edge manages (any case) that no module wants, never anyone else's", async () => {
    const owner = registryFor(hub, "registryReadWrite");
    await owner.addModule({ deviceId: "gw", moduleId: "OldEdgeModule", managedBy: "iotedge" });
    await owner.addModule({ deviceId: "gw", moduleId: "Monitoring", managedBy: "ops-team" });
    const result = await sync(["$edgeHub", "Sensor"]);
    assert.deepEqual([...result.removed].sort(), ["OldEdgeModule", "Pump"]);
    assert.deepEqual([...(hub.devices.get("gw")?.modules.keys() ?? [])].sort(), [
      "$edgeAgent",
      "$edgeHub",
      "Monitoring",
      "Sensor",
    ]);
    assert.equal(store.secrets.has("Pump"), false);
  });

  it("a re-created device: the Secrets no longer match its credentials, so every identity is read and made again", async () => {
    const old = store.secrets.get("Sensor")?.key;
    await registryFor(hub).delete("gw");
    hub.addEdgeDevice("gw");
    credentials = parseDeviceConnectionString(hub.deviceConnectionString("gw"));
    assert.equal((await edgeAgentIdentity(store, credentials, registry)).provisioned, true);
    const result = await sync(["$edgeHub", "Sensor"]);
    assert.deepEqual([...result.stored].sort(), ["$edgeHub", "Sensor"]);
    const sensor = hub.devices.get("gw")?.modules.get("Sensor");
    assert.notEqual(sensor?.authentication.symmetricKey.primaryKey, old);
    assert.equal(store.secrets.get("Sensor")?.key, sensor?.authentication.symmetricKey.primaryKey);
  });

  it("throttled: the 429 surfaces to the caller (who retries), and nothing half-done is stored", async () => {
    hub.registryPerMinute = 0;
    try {
      await assert.rejects(sync(["$edgeHub", "Sensor", "Valve"]), (e: unknown) => {
        assert.equal((e as { response?: { statusCode?: number } }).response?.statusCode, 429);
        return true;
      });
      assert.equal(store.secrets.has("Valve"), false);
    } finally {
      hub.registryPerMinute = undefined;
    }
    await sync(["$edgeHub", "Sensor", "Valve"]);
    assert.equal(store.secrets.has("Valve"), true);
  });
});
