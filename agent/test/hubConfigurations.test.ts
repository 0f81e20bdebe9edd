// The hub double's configurations, testQueries and twin queries, through the real azure-iothub SDK
// where it can express the request and by hand where it cannot (unquoted If-Match, `top`, headers).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Configuration } from "azure-iothub";
import { baseContent } from "./hub/deployments.ts";
import { HubDouble } from "./hub/hubDouble.ts";
import { rawRequest } from "./hub/rawRequest.ts";
import { queryAll, registryFor, testQueries } from "./hub/serviceClient.ts";

const statusOf = (e: unknown) => (e as { response?: { statusCode?: number } }).response?.statusCode;

async function status(work: Promise<unknown>): Promise<number> {
  try {
    await work;
    return 200;
  } catch (error) {
    return statusOf(error) ?? -1;
  }
}

function release(id: string, extra: Partial<Configuration> = {}): Configuration {
  return {
    id,
    schemaVersion: "",
    labels: { "edgek8s.track": "factory" },
    content: baseContent("sensor:1"),
    targetCondition: "tags.site='west'",
    priority: 1,
    ...extra,
  };
}

describe("IoT Hub double: configurations", () => {
  const hub = new HubDouble("config-hub.azure-devices.net", { maxConfigurations: 4 });
  let registry: ReturnType<typeof registryFor>;
  before(async () => {
    await hub.start();
    registry = registryFor(hub, "registryReadWrite");
  });
  after(() => hub.stop());

  it("creates with a PUT without If-Match, answers 409 for an existing id, reads back what it stored", async () => {
    const created = (await registry.addConfiguration(release("ek8s-factory-000000000001")))
      .responseBody as Configuration;
    assert.equal(created.schemaVersion, "1.0", "the SDK fills in schemaVersion 1.0");
    assert.equal(await status(registry.addConfiguration(release("ek8s-factory-000000000001"))), 409);
    const { responseBody: read } = await registry.getConfiguration("ek8s-factory-000000000001");
    assert.equal(read.targetCondition, "tags.site='west'");
    assert.deepEqual(read.systemMetrics?.queries?.["appliedCount"]?.includes("[[ek8s-factory-000000000001]]"), true);
    assert.equal(typeof read.etag, "string");
  });

  it("updates only with the current etag, quoted: stale answers 412, unquoted is a create (409)", async () => {
    const id = "ek8s-factory-000000000001";
    const { responseBody: current } = await registry.getConfiguration(id);
    const reply = await registry.updateConfiguration({ ...current, targetCondition: "tags.site='east'" });
    const updated = reply.responseBody as Configuration;
    assert.equal(updated.targetCondition, "tags.site='east'");
    assert.notEqual(updated.etag, current.etag);
    assert.equal(await status(registry.updateConfiguration({ ...current, priority: 5 })), 412, "stale etag");
    const unquoted = await rawRequest(hub, "PUT", `/configurations/${id}`, {
      body: { ...updated, priority: 7 },
      headers: { "if-match": updated.etag ?? "" },
    });
    assert.equal(unquoted.status, 409);
    assert.match((unquoted.body as { Message: string }).Message, /ConfigurationAlreadyExists/);
    assert.equal(hub.configurations.get(id)?.priority, 1, "nothing changed");
    assert.equal(await status(registry.updateConfiguration({ ...updated, priority: 3 }, true)), 200, "If-Match: *");
  });

  it("keeps content immutable: an update must carry it, and a changed one is ignored with a 200", async () => {
    const id = "ek8s-factory-000000000001";
    const { responseBody: current } = await registry.getConfiguration(id);
    const withoutContent: Configuration = { ...current };
    delete withoutContent.content;
    assert.equal(await status(registry.updateConfiguration(withoutContent)), 400);
    const changed = { ...current, content: baseContent("sensor:2") };
    assert.equal(await status(registry.updateConfiguration(changed)), 200);
    const { responseBody: after } = await registry.getConfiguration(id);
    assert.match(JSON.stringify(after.content), /sensor:1/);
    assert.deepEqual(hub.ignoredContentChanges, [id]);
  });

  it("refuses bad ids, labels, target conditions, content and metrics with 400", async () => {
    const refused = async (c: Configuration) => status(registry.addConfiguration(c));
    assert.equal(await refused(release("Ek8s-Upper")), 400, "upper case id");
    assert.equal(await refused(release("ek8s-x", { labels: { "edgek8s.io/track": "a" } })), 400, "'/' in a label");
    assert.equal(await refused(release("ek8s-x", { labels: { a: "$b" } })), 400, "'$' in a label");
    assert.equal(await refused(release("ek8s-x", { targetCondition: `tags.site="west"` })), 400, "double quotes");
    assert.equal(await refused(release("ek8s-x", { targetCondition: "properties.desired.x = 1" })), 400);
    assert.equal(await refused(release("ek8s-x", { content: { modulesContent: { $edgeHub: {} } } })), 400);
    const sixMetrics = Object.fromEntries(
      [1, 2, 3, 4, 5, 6].map((i) => [`m${i}`, "SELECT deviceId FROM devices WHERE tags.a = 1"]),
    );
    assert.equal(await refused(release("ek8s-x", { metrics: { queries: sixMetrics } })), 400);
    assert.equal(await refused(release("ek8s-x", { metrics: { queries: { m: "SELECT deviceId FRM devices" } } })), 400);
    assert.equal(hub.configurations.has("ek8s-x"), false);
  });

  it("accepts an empty target (targets nothing) unless the §A5 switch says the hub refuses it", async () => {
    assert.equal(await status(registry.addConfiguration(release("ek8s-empty", { targetCondition: "" }))), 200);
    hub.settings.emptyTarget = "refused";
    try {
      const { responseBody: current } = await registry.getConfiguration("ek8s-empty");
      assert.equal(await status(registry.updateConfiguration(current)), 400);
    } finally {
      hub.settings.emptyTarget = "targetsNothing";
    }
  });

  it("holds at most the hub's quota (413), lists without paging, honours top, deletes (404 after)", async () => {
    await registry.addConfiguration(release("ek8s-factory-000000000002"));
    await registry.addConfiguration(release("ek8s-factory-000000000003"));
    assert.equal(hub.configurations.size, 4);
    const over = await rawRequest(hub, "PUT", "/configurations/ek8s-factory-000000000004", {
      body: release("ek8s-factory-000000000004"),
    });
    assert.equal(over.status, 413);
    assert.match(
      JSON.stringify(over.body),
      /ConfigurationCountLimitExceeded;Number of deployments exceed the maximum quota 4/,
    );
    const { responseBody: all } = await registry.getConfigurations();
    assert.equal(all.length, 4);
    const top = await rawRequest(hub, "GET", "/configurations?top=2");
    assert.equal((top.body as unknown[]).length, 2);
    await registry.removeConfiguration("ek8s-empty");
    assert.equal(await status(registry.removeConfiguration("ek8s-empty")), 404);
  });

  it("needs RegistryRead to read and RegistryWrite to write configurations", async () => {
    assert.equal(await status(registryFor(hub, "registryRead").getConfigurations()), 200);
    assert.equal(await status(registryFor(hub, "registryRead").addConfiguration(release("ek8s-r"))), 401);
    assert.equal(await status(registryFor(hub, "registryRead").removeConfiguration("ek8s-factory-000000000002")), 401);
    assert.equal(await status(registryFor(hub, "service").getConfiguration("ek8s-factory-000000000002")), 401);
    assert.equal(await status(registryFor(hub, "iothubowner").getConfiguration("ek8s-factory-000000000002")), 200);
  });

  it("answers a throttled configuration write as IoT Hub does: 429, its body, no Retry-After", async () => {
    hub.throttles.inject("configurations", 2);
    assert.equal(await status(registry.removeConfiguration("ek8s-factory-000000000002")), 429);
    const raw = await rawRequest(hub, "DELETE", "/configurations/ek8s-factory-000000000002");
    assert.equal(raw.status, 429);
    assert.equal(raw.headers["retry-after"], undefined);
    assert.equal(raw.headers["iothub-errorcode"], "ThrottlingBacklogTimeout");
    assert.match(
      (raw.body as { Message: string }).Message,
      /^ErrorCode:ThrottlingBacklogTimeout;The request has been throttled\. Wait 10 seconds and try again\. Operation type: ConfigurationWrite$/,
    );
    assert.equal(await status(registry.getConfiguration("ek8s-factory-000000000002")), 200, "a GET is not throttled");
    assert.equal(await status(registry.removeConfiguration("ek8s-factory-000000000002")), 200, "the storm passed");
  });

  it("validates queries with testQueries: errors in a 200 body, nothing stored", async () => {
    const ok = await testQueries(registry, {
      targetCondition: "tags.site='west' AND tags.edgek8s.bucket < 10",
      customMetricQueries: { healthy: "SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent'" },
    });
    assert.deepEqual(ok, { targetConditionError: "", customMetricQueryErrors: {} });
    const bad = await testQueries(registry, {
      targetCondition: `tags.site="west"`,
      customMetricQueries: { broken: "SELECT deviceId FROM devices WHERE (tags.a = 1" },
    });
    assert.match(String(bad.targetConditionError), /single-quoted/);
    assert.match(String(bad.customMetricQueryErrors?.["broken"]), /WHERE/);
    assert.equal(await status(testQueries(registryFor(hub, "service"), { targetCondition: "" })), 401);
  });
});

describe("IoT Hub double: twin queries", () => {
  const hub = new HubDouble("query-hub.azure-devices.net");
  let service: ReturnType<typeof registryFor>;
  before(async () => {
    await hub.start();
    service = registryFor(hub, "service");
    for (const [i, site] of ["west", "west", "east", "west", "north"].entries()) {
      hub.addEdgeDevice(`gw-${i}`).twin.tags = { site, bucket: i * 20 };
    }
  });
  after(() => hub.stop());

  it("pages SELECT * with x-ms-continuation at the asked size, as the SDK's Query reads it", async () => {
    const { rows, pages } = await queryAll(service, "SELECT * FROM devices", 2);
    assert.deepEqual(pages, [2, 2, 1]);
    assert.deepEqual(
      rows.map((r) => r["deviceId"]),
      ["gw-0", "gw-1", "gw-2", "gw-3", "gw-4"],
    );
    const raw = await rawRequest(hub, "POST", "/devices/query", {
      body: { query: "SELECT * FROM devices" },
      headers: { "x-ms-max-item-count": "500" },
      policy: "service",
    });
    assert.equal((raw.body as unknown[]).length, 5, "a page is at most 100, here all five");
    assert.equal(raw.headers["x-ms-continuation"], undefined, "no token on the last page");
    assert.equal(raw.headers["x-ms-item-type"], "Twin");
  });

  it("counts, projects and groups (GROUP BY on device twins only, unless switched on)", async () => {
    const count = await queryAll(service, "SELECT COUNT() AS n FROM devices WHERE tags.site = 'west'");
    assert.deepEqual(count.rows, [{ n: 3 }]);
    const projected = await queryAll(service, "SELECT deviceId, tags.bucket AS b FROM devices WHERE tags.bucket < 30");
    assert.deepEqual(projected.rows, [
      { deviceId: "gw-0", b: 0 },
      { deviceId: "gw-1", b: 20 },
    ]);
    const grouped = await queryAll(service, "SELECT tags.site AS site, COUNT() AS n FROM devices GROUP BY tags.site");
    assert.deepEqual(grouped.rows, [
      { site: "west", n: 3 },
      { site: "east", n: 1 },
      { site: "north", n: 1 },
    ]);
    const modules = "SELECT moduleId, COUNT() AS n FROM devices.modules GROUP BY moduleId";
    assert.equal(await status(queryAll(service, modules)), 400);
    hub.settings.groupByOnModules = true;
    try {
      assert.deepEqual((await queryAll(service, modules)).rows, [
        { moduleId: "$edgeAgent", n: 5 },
        { moduleId: "$edgeHub", n: 5 },
      ]);
    } finally {
      hub.settings.groupByOnModules = false;
    }
    const agents = await queryAll(service, "SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent'");
    assert.equal(agents.rows.length, 5);
  });

  it("refuses what IoT Hub refuses: bad syntax, unknown collections, over 8192 characters, RegistryRead only", async () => {
    assert.equal(await status(queryAll(service, "SELECT * FROM things")), 400);
    assert.equal(await status(queryAll(service, "SELECT * FROM devices WHERE tags.a = ")), 400);
    assert.equal(await status(queryAll(service, `SELECT * FROM devices WHERE tags.a = '${"x".repeat(8200)}'`)), 400);
    assert.equal(await status(queryAll(registryFor(hub, "registryReadWrite"), "SELECT * FROM devices")), 401);
  });

  it("lags behind the twins by the switched number of ticks, and throttles when told", async () => {
    hub.settings.queryLagTicks = 2;
    try {
      hub.engine.tick();
      hub.devices.get("gw-4")!.twin.tags = { site: "west" };
      const west = async () =>
        (await queryAll(service, "SELECT COUNT() AS n FROM devices WHERE tags.site = 'west'")).rows;
      hub.engine.tick();
      assert.deepEqual(await west(), [{ n: 3 }], "one tick later the index does not show it yet");
      hub.engine.tick(2);
      assert.deepEqual(await west(), [{ n: 4 }]);
    } finally {
      hub.settings.queryLagTicks = 0;
    }
    hub.throttles.inject("queries", 1);
    assert.equal(await status(queryAll(service, "SELECT * FROM devices")), 429);
    assert.equal(await status(queryAll(service, "SELECT * FROM devices")), 200);
  });
});
