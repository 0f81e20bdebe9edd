import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Registry } from "azure-iothub";
import { HubDouble } from "../../agent/test/hub/hubDouble.ts";
import { registryFor } from "../../agent/test/hub/serviceClient.ts";
import {
  type DeviceIdentityInputs,
  type Registries,
  createDevice,
  deleteDevice,
  diffDeviceIdentity,
  ownerMark,
  updateDevice,
} from "../providers/deviceIdentityOps.ts";
import { tagProblems } from "../providers/deviceTags.ts";

describe("device identities through the real azure-iothub SDK against the hub double", () => {
  const hub = new HubDouble("contoso-test.azure-devices.net");
  before(() => hub.start());
  after(() => hub.stop());
  const inputs = (deviceId: string, tags: DeviceIdentityInputs["tags"] = {}): DeviceIdentityInputs => ({
    hubConnectionString: hub.policyConnectionString("registryReadWrite"),
    twinConnectionString: hub.policyConnectionString("service"),
    hubHostName: hub.hostName,
    deviceId,
    tags,
    owner: "edgek8s/test",
  });
  const registries = (twins: Registry = registryFor(hub, "service")): Registries => ({
    registry: registryFor(hub, "registryReadWrite"),
    twins,
  });
  const requestsFrom = (start: number) => hub.requests.slice(start);

  it("creates an IoT Edge device: identity calls signed with registryReadWrite, twin tags with service", async () => {
    const start = hub.requests.length;
    const out = await createDevice(registries(), inputs("line1-gw", { ring: "canary", line: 1 }));
    const record = hub.devices.get("line1-gw");
    assert.equal(record?.capabilities.iotEdge, true);
    assert.deepEqual(record?.twin.tags, { ring: "canary", line: 1 });
    assert.equal(out.primaryKey, record?.authentication.symmetricKey.primaryKey);
    assert.equal(
      out.connectionString,
      `HostName=contoso-test.azure-devices.net;DeviceId=line1-gw;SharedAccessKey=${out.primaryKey}`,
    );
    const calls = requestsFrom(start).map((r) => `${r.operation ?? "?"} ${r.principal} ${String(r.status)}`);
    assert.deepEqual(calls, [
      "putDevice policy:registryReadWrite 200",
      "getTwin policy:service 200",
      "updateTwin policy:service 200",
    ]);
  });

  it("refuses to take over a device that already exists and is not this stack's (409), naming it", async () => {
    hub.addEdgeDevice("someone-elses");
    await assert.rejects(
      createDevice(registries(), inputs("someone-elses")),
      /device "someone-elses" already exists in contoso-test\.azure-devices\.net and was not made by this stack/,
    );
  });

  it("a create whose tagging fails is recoverable: the next run creates or adopts this stack's own device", async () => {
    const wrongServiceKey = registryFor(
      hub,
      `HostName=${hub.hostName};SharedAccessKeyName=service;SharedAccessKey=${Buffer.from("nope").toString("base64")}`,
    );
    await assert.rejects(createDevice(registries(wrongServiceKey), inputs("line2-gw", { ring: "canary" })), /\(401\)/);
    const out = await createDevice(registries(), inputs("line2-gw", { ring: "canary" }));
    assert.equal(out.primaryKey, hub.devices.get("line2-gw")?.authentication.symmetricKey.primaryKey);
    assert.deepEqual(hub.devices.get("line2-gw")?.twin.tags, { ring: "canary" });
  });

  it("adopts its own device left behind when both tagging and the undo failed", async () => {
    // What a crash between the create and the tags leaves: a device marked as this stack's.
    hub.call("PUT", "/devices/line3-gw", {
      deviceId: "line3-gw",
      statusReason: ownerMark("edgek8s/test"),
      capabilities: { iotEdge: true },
    });
    const out = await createDevice(registries(), inputs("line3-gw", { ring: "broad" }));
    assert.equal(out.primaryKey, hub.devices.get("line3-gw")?.authentication.symmetricKey.primaryKey);
    assert.deepEqual(hub.devices.get("line3-gw")?.twin.tags, { ring: "broad" });
    await assert.rejects(
      createDevice(registries(), { ...inputs("line3-gw"), owner: "edgek8s/other" }),
      /not made by this stack/,
    );
  });

  it("refuses tag keys IoT Hub refuses before creating anything, naming the tag", async () => {
    await assert.rejects(
      createDevice(registries(), inputs("line4-gw", { "site.name": "x", "has space": 1, $ver: 2 })),
      (e: Error) => {
        assert.match(e.message, /tags\["site\.name"\]: .*'\.'/);
        assert.match(e.message, /tags\["has space"\]/);
        assert.match(e.message, /tags\["\$ver"\]/);
        return true;
      },
    );
    assert.equal(hub.devices.has("line4-gw"), false);
  });

  it("updates only the tags it manages: others' tags stay, its removed tags go, keys are kept", async () => {
    hub.call("PATCH", "/twins/line1-gw", { tags: { owner: "ops-team" } });
    const before = hub.devices.get("line1-gw")?.authentication.symmetricKey.primaryKey;
    const olds = inputs("line1-gw", { ring: "canary", line: 1 });
    const out = await updateDevice(registries(), olds, inputs("line1-gw", { ring: "broad" }));
    assert.deepEqual(hub.devices.get("line1-gw")?.twin.tags, { ring: "broad", owner: "ops-team" });
    assert.equal(out.primaryKey, before);
  });

  it("writes the rollout bucket as tags.edgek8s.bucket next to the stack's tags, and rewrites nothing unchanged", async () => {
    const tags = { ring: "canary", edgek8s: { bucket: 42 } };
    await createDevice(registries(), inputs("line8-gw", tags));
    assert.deepEqual(hub.devices.get("line8-gw")?.twin.tags, tags);
    const start = hub.requests.length;
    await updateDevice(registries(), inputs("line8-gw", tags), inputs("line8-gw", tags));
    assert.deepEqual(
      hub.requests.slice(start).map((r) => r.operation),
      ["getDevice", "getTwin"],
      "an equal nested tag is not written again",
    );
    assert.deepEqual(
      tagProblems({ edgek8s: { "a.b": 1 } }).map((p) => p.key),
      ["edgek8s.a.b"],
    );
  });

  it("writes tags with the twin's etag: a change made in between is read again, not overwritten blindly", async () => {
    const service = registryFor(hub, "service");
    let raced = false;
    const racing = new Proxy(service, {
      get(target, property, receiver) {
        if (property !== "getTwin") return Reflect.get(target, property, receiver) as unknown;
        return async (id: string) => {
          const result = await target.getTwin(id);
          if (!raced) {
            raced = true;
            hub.call("PATCH", `/twins/${id}`, { tags: { ring: "hand-edited" } });
          }
          return result;
        };
      },
    });
    const olds = inputs("line1-gw", { ring: "broad" });
    await updateDevice(registries(racing), olds, inputs("line1-gw", { ring: "broad", line: 2 }));
    assert.deepEqual(hub.devices.get("line1-gw")?.twin.tags, { ring: "broad", line: 2, owner: "ops-team" });
  });

  it("restores the IoT Edge capability if someone turned it off", async () => {
    const record = hub.devices.get("line1-gw");
    if (record) record.capabilities.iotEdge = false;
    const same = inputs("line1-gw", { ring: "broad", line: 2 });
    await updateDevice(registries(), same, same);
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
      createDevice({ registry: registryFor(hub, wrong), twins: registryFor(hub, "service") }, inputs("line9-gw")),
      /IoT Hub refused to create device "line9-gw" \(401\)/,
    );
    assert.equal(hub.devices.has("line9-gw"), false);
  });
});

describe("device identity diff and tags", () => {
  const base: DeviceIdentityInputs = {
    hubConnectionString: "cs",
    twinConnectionString: "ts",
    hubHostName: "h",
    deviceId: "d",
    tags: { a: 1 },
    owner: "p/s",
  };
  it("replaces on a new device id or hub, updates on tags or a rotated hub key, else nothing", () => {
    assert.deepEqual(diffDeviceIdentity(base, { ...base, deviceId: "e" }).replaces, ["deviceId"]);
    assert.deepEqual(diffDeviceIdentity(base, { ...base, hubHostName: "g" }).replaces, ["hubHostName"]);
    assert.deepEqual(diffDeviceIdentity(base, { ...base, tags: { a: 2 } }), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: true,
    });
    assert.equal(diffDeviceIdentity(base, { ...base, hubConnectionString: "cs2" }).changes, true);
    assert.equal(diffDeviceIdentity(base, { ...base, twinConnectionString: "ts2" }).changes, true);
    assert.equal(diffDeviceIdentity(base, { ...base }).changes, false);
  });

  it("checks tags as IoT Hub does: key characters, 4 KB strings, 8 KB by IoT Hub's size rule", () => {
    assert.deepEqual(tagProblems({ ring: "canary", line: 1, ok: true }), []);
    assert.deepEqual(
      tagProblems({ "a.b": 1 }).map((p) => p.key),
      ["a.b"],
    );
    assert.match(tagProblems({ big: "x".repeat(4097) })[0]?.message ?? "", /4 KB/);
    // 3 × (2 + 3000) bytes = 9006 > 8192, though each value is allowed.
    const many = Object.fromEntries(["t0", "t1", "t2"].map((k) => [k, "y".repeat(3000)]));
    assert.match(tagProblems(many)[0]?.message ?? "", /9006 bytes; IoT Hub allows 8192/);
    // Numbers count 8 bytes and booleans 4, whatever their JSON length.
    const numbers = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`n${String(i).padStart(3, "0")}`, 1]));
    assert.deepEqual(tagProblems(numbers).length, 0, "600 × (4 + 8) = 7200 bytes");
  });
});
