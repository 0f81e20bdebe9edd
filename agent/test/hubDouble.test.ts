// The IoT Hub double as a specification: it refuses what IoT Hub refuses. Driven through the real
// azure-iothub / azure-iot-device SDKs where they can express the request, by hand where they cannot.
import assert from "node:assert/strict";
import { request as send } from "node:https";
import { after, before, describe, it } from "node:test";
import type { ModuleClient, Twin } from "azure-iot-device";
import { parseDeviceConnectionString } from "../src/hub/connectionString.ts";
import { sdkConnector } from "../src/hub/connector.ts";
import { HubDouble } from "./hub/hubDouble.ts";
import { rawConnect } from "./hub/rawMqtt.ts";
import { sasToken, sign } from "./hub/sas.ts";
import { registryFor } from "./hub/serviceClient.ts";
import { TwinService } from "./hub/twinService.ts";
import { twinSize } from "./hub/twinRules.ts";

const statusOf = (e: unknown) => (e as { response?: { statusCode?: number } }).response?.statusCode;

async function status(work: Promise<unknown>): Promise<number> {
  try {
    await work;
    return 200;
  } catch (error) {
    return statusOf(error) ?? -1;
  }
}

describe("IoT Hub double: access control", () => {
  const hub = new HubDouble("spec-hub.azure-devices.net");
  before(async () => {
    await hub.start();
    hub.addEdgeDevice("gw1");
    hub.addEdgeDevice("gw2");
  });
  after(() => hub.stop());

  it("grants each default policy exactly its documented rights", async () => {
    const create = (policy: string, id: string) =>
      status(
        registryFor(hub, policy).create({
          deviceId: id,
          authentication: { symmetricKey: { primaryKey: "", secondaryKey: "" } },
        }),
      );
    assert.equal(await create("registryReadWrite", "a1"), 200);
    assert.equal(await create("iothubowner", "a2"), 200);
    assert.equal(await create("registryRead", "a3"), 401);
    assert.equal(await create("service", "a4"), 401);
    assert.equal(await create("device", "a5"), 401);
    assert.equal(await status(registryFor(hub, "registryRead").get("a1")), 200);
    assert.equal(await status(registryFor(hub, "service").get("a1")), 401);
    // Twins need ServiceConnect: registryReadWrite has none of it.
    assert.equal(await status(registryFor(hub, "registryReadWrite").getTwin("a1")), 401);
    assert.equal(await status(registryFor(hub, "registryReadWrite").updateTwin("a1", { tags: { a: 1 } }, "*")), 401);
    assert.equal(await status(registryFor(hub, "service").getTwin("a1")), 200);
    assert.equal(await status(registryFor(hub, "service").updateTwin("a1", { tags: { a: 1 } }, "*")), 200);
    assert.equal(await status(registryFor(hub, "iothubowner").getTwin("a1")), 200);
  });

  it("lets a device's own key manage the module identities under it, and nothing else", async () => {
    const connector = sdkConnector({ transport: "mqtt-ws", agent: hub.agent() });
    const own = await connector.deviceRegistry(parseDeviceConnectionString(hub.deviceConnectionString("gw1")));
    assert.equal(await status(own.addModule({ deviceId: "gw1", moduleId: "m1" })), 200);
    assert.equal(await status(own.getModulesOnDevice("gw1")), 200);
    assert.equal(await status(own.getModulesOnDevice("gw2")), 401);
    assert.equal(await status(own.addModule({ deviceId: "gw2", moduleId: "m1" })), 401);
    assert.equal(await status(own.get("gw1")), 401);
    assert.equal(await status(own.getTwin("gw1")), 401);
    assert.equal(await status(own.removeModule("gw1", "m1")), 200);
  });

  it("checks signatures over the URL-encoded resource, by segment, and refuses expired tokens", async () => {
    const key = hub.policies.get("iothubowner")?.primaryKey ?? "";
    const later = Math.floor(Date.now() / 1000) + 600;
    const request = (authorization: string) => {
      return new Promise<number>((resolve, reject) => {
        const req = send(
          {
            host: hub.hostName,
            path: "/devices/gw1?api-version=2021-04-12",
            agent: hub.agent(),
            headers: { authorization },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? -1);
          },
        );
        req.on("error", reject);
        req.end();
      });
    };
    assert.equal(await request(sasToken(hub.hostName, key, later, "iothubowner")), 200);
    assert.equal(
      await request(sasToken(hub.hostName, key, Math.floor(Date.now() / 1000) - 1, "iothubowner")),
      401,
      "expired",
    );
    // Signed over the raw resource instead of its URL encoding.
    const deviceKey = hub.devices.get("gw1")?.authentication.symmetricKey.primaryKey ?? "";
    const raw = `${hub.hostName}/devices/gw1`;
    const unencoded = `SharedAccessSignature sr=${encodeURIComponent(raw)}&sig=${encodeURIComponent(sign(deviceKey, raw, later))}&se=${String(later)}`;
    assert.equal(await request(unencoded), 401);
    assert.equal(await request(`SharedAccessSignature sr=${raw}&sig=x&se=${String(later)}`), 401, "sr not URL-encoded");
    // gw1's key cannot be scoped to gw10 by prefix: scopes are compared by segment.
    assert.equal(hub.authenticate(sasToken(`${hub.hostName}/devices/gw1`, deviceKey, later)).kind, "device");
    assert.throws(() => hub.authenticate(sasToken(`${hub.hostName}/devices/gw10`, deviceKey, later)), /not valid/);
  });
});

describe("IoT Hub double: identity registry", () => {
  const hub = new HubDouble("registry-hub.azure-devices.net");
  before(() => hub.start());
  after(() => hub.stop());

  it("gives a new IoT Edge device $edgeAgent and $edgeHub without keys", () => {
    const device = hub.addEdgeDevice("edge1");
    for (const id of ["$edgeAgent", "$edgeHub"]) {
      assert.deepEqual(device.modules.get(id)?.authentication, {
        type: "none",
        symmetricKey: { primaryKey: null, secondaryKey: null },
      });
    }
  });

  it("answers 409 for an existing id, 412 for a stale etag, 413 for the 51st module identity", async () => {
    const registry = registryFor(hub);
    assert.equal(await status(registry.create({ deviceId: "edge1" })), 409);
    assert.equal(await status(registry.addModule({ deviceId: "edge1", moduleId: "$edgeHub" })), 409);
    const module = (await registry.getModule("edge1", "$edgeAgent")).responseBody;
    assert.equal(await status(registry.updateModule({ ...module, etag: "stale" })), 412);
    assert.equal(await status(registry.updateModule({ ...module })), 200);
    for (let i = 0; i < 48; i++) await registry.addModule({ deviceId: "edge1", moduleId: `m${String(i)}` });
    assert.equal(hub.devices.get("edge1")?.modules.size, 50);
    assert.equal(await status(registry.addModule({ deviceId: "edge1", moduleId: "one-too-many" })), 413);
  });

  it("throttles identity registry operations when switched on (429), and only those", async () => {
    const registry = registryFor(hub, "iothubowner");
    hub.registryPerMinute = 2;
    try {
      assert.equal(await status(registry.get("edge1")), 200);
      assert.equal(await status(registry.get("edge1")), 200);
      assert.equal(await status(registry.get("edge1")), 429);
      assert.equal(await status(registry.getTwin("edge1")), 200, "twin reads are not registry operations");
    } finally {
      hub.registryPerMinute = undefined;
    }
    assert.equal(await status(registry.get("edge1")), 200);
  });
});

describe("IoT Hub double: twins", () => {
  const hub = new HubDouble("twin-hub.azure-devices.net");
  before(async () => {
    await hub.start();
    hub.addEdgeDevice("edge1");
  });
  after(() => hub.stop());

  it("refuses keys with '.', '$' or spaces, tags over 8 KB and stale etags, applying nothing", async () => {
    const registry = registryFor(hub, "service");
    const twin = (await registry.getTwin("edge1")).responseBody;
    assert.equal(await status(registry.updateTwin("edge1", { tags: { "a.b": 1 } }, twin.etag)), 400);
    assert.equal(await status(registry.updateTwin("edge1", { tags: { "a b": 1 } }, twin.etag)), 400);
    assert.equal(await status(registry.updateTwin("edge1", { tags: { big: "x".repeat(4097) } }, twin.etag)), 400);
    const many = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`t${String(i)}`, "y".repeat(3000)]));
    assert.equal(await status(registry.updateTwin("edge1", { tags: many }, twin.etag)), 400, "over 8 KB");
    assert.deepEqual(hub.devices.get("edge1")?.twin.tags, {});
    assert.equal(await status(registry.updateTwin("edge1", { tags: { ring: "canary" } }, twin.etag)), 200);
    assert.equal(await status(registry.updateTwin("edge1", { tags: { ring: "broad" } }, twin.etag)), 412);
    assert.deepEqual(hub.devices.get("edge1")?.twin.tags, { ring: "canary" });
  });

  it("sizes documents as IoT Hub does: key + value, numbers 8 bytes, booleans 4", () => {
    assert.equal(twinSize({ ab: "xyz", n: 1, b: true, o: { k: "v" } }), 2 + 3 + 1 + 8 + 1 + 4 + 1 + 2);
  });
});

describe("IoT Hub double: MQTT", () => {
  const hub = new HubDouble("mqtt-hub.azure-devices.net");
  let twins: TwinService;
  const clients: ModuleClient[] = [];
  before(async () => {
    await hub.start();
    twins = new TwinService(hub);
    hub.addEdgeDevice("edge1");
    await registryFor(hub).updateModule(
      {
        deviceId: "edge1",
        moduleId: "$edgeAgent",
        authentication: { type: "sas", symmetricKey: { primaryKey: "", secondaryKey: "" } },
      } as never,
      true,
    );
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await twins.close();
    await hub.stop();
  });
  const agentKey = () =>
    hub.devices.get("edge1")?.modules.get("$edgeAgent")?.authentication.symmetricKey.primaryKey ?? "";
  const moduleCs = () => `HostName=${hub.hostName};DeviceId=edge1;ModuleId=$edgeAgent;SharedAccessKey=${agentKey()}`;

  async function open(): Promise<{ client: ModuleClient; twin: Twin; desired: unknown[] }> {
    const client = await sdkConnector({ transport: "mqtt-ws", agent: hub.agent() }).moduleClient(moduleCs());
    clients.push(client);
    await client.open();
    const twin = await client.getTwin();
    const desired: unknown[] = [];
    twin.on("properties.desired", (d: unknown) => desired.push(structuredClone(d)));
    return { client, twin, desired };
  }

  it("checks the CONNECT username and the identity's own token; a keyless identity cannot connect", async () => {
    const later = Math.floor(Date.now() / 1000) + 600;
    const token = sasToken(`${hub.hostName}/devices/edge1/modules/$edgeAgent`, agentKey(), later);
    const clientId = "edge1/$edgeAgent";
    const username = `${hub.hostName}/${clientId}/?api-version=2021-04-12`;
    const ok = await rawConnect(hub, { clientId, username, password: token });
    assert.equal(ok.returnCode, 0);
    ok.close();
    assert.equal(
      (await rawConnect(hub, { clientId, username: `${hub.hostName}/${clientId}`, password: token })).returnCode,
      5,
    );
    assert.equal(
      (
        await rawConnect(hub, {
          clientId: "edge1/$edgeHub",
          username: `${hub.hostName}/edge1/$edgeHub/?api-version=2021-04-12`,
          password: token,
        })
      ).returnCode,
      5,
    );
  });

  it("drops the older session when an identity connects again, and a session whose token expires", async () => {
    const clientId = "edge1/$edgeAgent";
    const username = `${hub.hostName}/${clientId}/?api-version=2021-04-12`;
    const resource = `${hub.hostName}/devices/edge1/modules/$edgeAgent`;
    const first = await rawConnect(hub, {
      clientId,
      username,
      password: sasToken(resource, agentKey(), Math.floor(Date.now() / 1000) + 600),
    });
    const second = await rawConnect(hub, {
      clientId,
      username,
      password: sasToken(resource, agentKey(), Math.floor(Date.now() / 1000) + 2),
    });
    assert.equal(second.returnCode, 0);
    await first.closed;
    await second.closed; // severed when its token expired
    assert.deepEqual(twins.connected, []);
  });

  it("notifies desired changes in the back end's form: a patch as a patch, a replacement whole", async () => {
    const { twin, desired } = await open();
    await new Promise<void>((resolve, reject) => {
      twin.enableTwinDesiredPropertiesUpdates((e) => {
        if (e) reject(e);
        else resolve();
      });
    });
    twins.setDesired("edge1", "$edgeAgent", { a: 1, b: { c: 2 } });
    twins.patchDesired("edge1", "$edgeAgent", { b: { c: null } });
    twins.setDesired("edge1", "$edgeAgent", { a: 3 });
    const wait = async () => {
      for (let i = 0; i < 100 && desired.length < 4; i++) await new Promise((r) => setTimeout(r, 50));
    };
    await wait();
    const versions = desired.slice(1).map((d) => structuredClone(d));
    assert.deepEqual(versions[0], { a: 1, b: { c: 2 }, $version: 2 });
    assert.deepEqual(versions[1], { b: { c: null }, $version: 3 });
    assert.deepEqual(versions[2], { a: 3, $version: 4 }, "no null for the removed b: a replacement is sent whole");
  });

  it("refuses reported patches that break the twin rules, with an error the SDK surfaces", async () => {
    const { twin } = await open();
    const update = (patch: object) =>
      new Promise<Error | undefined>((resolve) => {
        (twin.properties.reported as unknown as { update(p: object, done: (e?: Error) => void): void }).update(
          patch,
          (e?: Error) => {
            resolve(e ?? undefined);
          },
        );
      });
    assert.equal(await update({ ok: 1 }), undefined);
    assert.match(String(await update({ "bad.key": 1 })), /keys may not contain/);
    const big = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${String(i)}`, "z".repeat(4000)]));
    assert.match(String(await update(big)), /the limit is 32768/);
    assert.deepEqual(
      twins.reportedPatches.map((p) => p.status),
      [204, 400, 400],
    );
  });
});
