import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HubDouble } from "../../agent/test/hub/hubDouble.ts";
import { registryFor } from "../../agent/test/hub/serviceClient.ts";
import {
  type DeviceIdentityInputs,
  createDevice,
  deleteDevice,
  diffDeviceIdentity,
  tagsPatch,
  updateDevice,
} from "../providers/deviceIdentityOps.ts";

describe("device identities through the real azure-iothub SDK against the hub double", () => {
  const hub = new HubDouble("contoso-test.azure-devices.net");
  before(() => hub.start());
  after(() => hub.stop());
  const inputs = (deviceId: string, tags: DeviceIdentityInputs["tags"] = {}): DeviceIdentityInputs => ({
    hubConnectionString: hub.policyConnectionString(),
    hubHostName: hub.hostName,
    deviceId,
    tags,
  });

  it("creates an IoT Edge device with hub-generated keys and its twin tags, signed with registryReadWrite", async () => {
    const out = await createDevice(registryFor(hub), inputs("line1-gw", { ring: "canary", line: 1 }));
    const record = hub.devices.get("line1-gw");
    assert.equal(record?.capabilities.iotEdge, true);
    assert.deepEqual(record?.tags, { ring: "canary", line: 1 });
    assert.equal(out.primaryKey, record?.authentication.symmetricKey.primaryKey);
    assert.equal(
      out.connectionString,
      `HostName=contoso-test.azure-devices.net;DeviceId=line1-gw;SharedAccessKey=${out.primaryKey}`,
    );
    assert.ok(hub.requests.every((r) => r.principal === "policy:registryReadWrite"));
  });

  it("refuses to take over a device that already exists (409), naming it", async () => {
    await assert.rejects(
      createDevice(registryFor(hub), inputs("line1-gw")),
      /device "line1-gw" already exists in contoso-test\.azure-devices\.net and was not made by this stack/,
    );
  });

  it("updates tags with get → modify → update, removing tags no longer configured, keeping the keys", async () => {
    const before = hub.devices.get("line1-gw")?.authentication.symmetricKey.primaryKey;
    const out = await updateDevice(registryFor(hub), inputs("line1-gw", { ring: "broad" }));
    assert.deepEqual(hub.devices.get("line1-gw")?.tags, { ring: "broad" });
    assert.equal(out.primaryKey, before);
  });

  it("restores the IoT Edge capability if someone turned it off", async () => {
    const record = hub.devices.get("line1-gw");
    if (record) record.capabilities.iotEdge = false;
    await updateDevice(registryFor(hub), inputs("line1-gw", { ring: "broad" }));
    assert.equal(hub.devices.get("line1-gw")?.capabilities.iotEdge, true);
  });

  it("deletes idempotently: a device already gone is success", async () => {
    await deleteDevice(registryFor(hub), "line1-gw");
    assert.equal(hub.devices.has("line1-gw"), false);
    await deleteDevice(registryFor(hub), "line1-gw");
  });

  it("reports a wrong hub key as IoT Hub's refusal, with the status", async () => {
    const wrong = `HostName=${hub.hostName};SharedAccessKeyName=registryReadWrite;SharedAccessKey=${Buffer.from("nope").toString("base64")}`;
    await assert.rejects(
      createDevice(registryFor(hub, wrong), { ...inputs("line9-gw"), hubConnectionString: wrong }),
      /IoT Hub refused to create device "line9-gw" \(401\)/,
    );
    assert.equal(hub.devices.has("line9-gw"), false);
  });
});

describe("device identity diff", () => {
  const base: DeviceIdentityInputs = { hubConnectionString: "cs", hubHostName: "h", deviceId: "d", tags: { a: 1 } };
  it("replaces on a new device id or hub, updates on tags or a rotated hub key, else nothing", () => {
    assert.deepEqual(diffDeviceIdentity(base, { ...base, deviceId: "e" }).replaces, ["deviceId"]);
    assert.deepEqual(diffDeviceIdentity(base, { ...base, hubHostName: "g" }).replaces, ["hubHostName"]);
    assert.deepEqual(diffDeviceIdentity(base, { ...base, tags: { a: 2 } }), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: true,
    });
    assert.equal(diffDeviceIdentity(base, { ...base, hubConnectionString: "cs2" }).changes, true);
    assert.equal(diffDeviceIdentity(base, { ...base }).changes, false);
  });
  it("patches removed tags to null", () => {
    assert.deepEqual(tagsPatch({ a: 1, b: 2 }, { a: 3 }), { a: 3, b: null });
  });
});
