// The hub bridge against the IoT Hub double (HTTPS registry + MQTT-over-WebSockets twins, TLS on
// loopback) through the real azure-iot-device and azure-iothub SDKs, with a full control plane and
// the agent authenticated by the chart's hub-mode RBAC.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
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
import { DEVICE_CONNECTION_STRING_KEY, DEVICE_CREDENTIALS_SECRET } from "../../src/hub/credentials.ts";
import { HubBridges } from "../../src/hub/manager.ts";
import type { KubeClient } from "../../src/kube/client.ts";
import { RESOURCES } from "../../src/kube/resources.ts";
import type { Controller } from "../../src/reconcile/controller.ts";
import { jsonLogger } from "../../src/runtime/log.ts";
import { readExample } from "../fixtures/manifests.ts";
import { HubDouble } from "../hub/hubDouble.ts";
import { keysOf } from "../hub/records.ts";
import { TwinService } from "../hub/twinService.ts";

const DEVICE = "line1-gw";
const NS = "msiot-test-hub-line1-gw";
const AGENT = "$edgeAgent";

type Json = Record<string, unknown>;

function quickstart(): { edgeAgent: Json; edgeHub: Json } {
  const content = (readExample("quickstart.json") as { modulesContent: Record<string, { "properties.desired": Json }> })
    .modulesContent;
  return {
    edgeAgent: structuredClone(content["$edgeAgent"]?.["properties.desired"] ?? {}),
    edgeHub: content["$edgeHub"]?.["properties.desired"] ?? {},
  };
}

describe("hub bridge: IoT Hub twin ⇄ EdgeDeployment", { timeout: 240_000 }, () => {
  let cluster: Cluster;
  let agent: KubeClient;
  let controller: Controller;
  let bridges: HubBridges;
  const hub = new HubDouble("test-hub.azure-devices.net");
  let twins: TwinService;
  const logs: string[] = [];

  const reported = () => twins.reported(DEVICE, AGENT) as Json & { modules?: Record<string, Json> };
  const desiredVersion = () => hub.devices.get(DEVICE)?.modules.get(AGENT)?.twin.desired.$version ?? 0;
  const spec = async () =>
    (
      await getObject<{ spec: { desiredVersion?: number; edgeAgent: { modules: Json } } }>(
        cluster.admin,
        "EdgeDeployment",
        NS,
        DEVICE,
      )
    )?.spec;
  const deploymentNames = async () =>
    (await cluster.admin.list(RESOURCES.Deployment, { namespace: NS })).items.map((d) => d.metadata?.name ?? "").sort();

  async function startBridges(): Promise<HubBridges> {
    const started = new HubBridges({
      kube: agent,
      namespaces: [NS],
      connector: sdkConnector({ transport: "mqtt-ws", agent: hub.agent() }),
      log: jsonLogger((line) => logs.push(line), "debug"),
      agent: DEFAULT_AGENT_INFO,
      heartbeatMs: 60_000,
      minBackoffMs: 200,
      maxBackoffMs: 1000,
      connectTimeoutMs: 5000,
      operationTimeoutMs: 3000,
    });
    await started.start();
    return started;
  }

  before(async () => {
    await hub.start();
    twins = new TwinService(hub);
    hub.addEdgeDevice(DEVICE);
    cluster = await startCluster({ full: true, nodes: 1 });
    await createNamespace(cluster, NS);
    // What the Pulumi program writes in hub mode: the device's own connection string, nothing hub-wide.
    await cluster.admin.apply(
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: DEVICE_CREDENTIALS_SECRET, namespace: NS },
        stringData: { [DEVICE_CONNECTION_STRING_KEY]: hub.deviceConnectionString(DEVICE) },
      },
      "edgek8s-pulumi",
    );
    agent = await agentClient(cluster, NS, []);
    controller = await startController(agent, [NS]);
    bridges = await startBridges();
  });

  after(async () => {
    if (process.env["EDGEK8S_DEBUG_HUB"]) console.log(logs.join("\n"));
    // The control plane is stopped even if a bridge does not stop in time: no process may outlive the test.
    try {
      await Promise.race([bridges.stop(), sleep(20_000)]);
      await controller.stop();
    } finally {
      await cluster.plane.stop();
      await twins.close();
      await hub.stop();
    }
  });

  it("connects as $edgeAgent with a module identity made by the device's own key, kept in a Secret", async () => {
    await waitFor(
      "twin connection",
      async () => Promise.resolve(twins.connected.includes(`${DEVICE}/${AGENT}`)),
      30_000,
    );
    const stored = await getObject<{ data: Record<string, string> }>(cluster.admin, "Secret", NS, "edgeagent-identity");
    const cs = Buffer.from(stored?.data["connectionString"] ?? "", "base64").toString();
    assert.match(cs, /^HostName=test-hub\.azure-devices\.net;DeviceId=line1-gw;ModuleId=\$edgeAgent;SharedAccessKey=/);
    assert.ok(!hub.requests.some((r) => r.principal.startsWith("policy:")), "no hub-wide key is used on the edge");
  });

  it("desired change → EdgeDeployment with the desired $version → module identities, Secrets and objects", async () => {
    const { edgeAgent, edgeHub } = quickstart();
    twins.applyConfigurationContent(DEVICE, {
      $edgeAgent: { "properties.desired": edgeAgent },
      $edgeHub: { "properties.desired": edgeHub },
    });
    const version = desiredVersion();
    await waitFor("EdgeDeployment from the twin", async () => (await spec())?.desiredVersion === version, 30_000);
    await waitFor("module Deployments", async () => (await deploymentNames()).length === 2, 30_000);
    assert.deepEqual(await deploymentNames(), ["edgehub", "simulatedtemperaturesensor"]);
    const modules = [...(hub.devices.get(DEVICE)?.modules.keys() ?? [])].sort();
    assert.deepEqual(modules, ["$edgeAgent", "$edgeHub", "SimulatedTemperatureSensor"]);
    const sensor = await getObject<{ data: Record<string, string> }>(
      cluster.admin,
      "Secret",
      NS,
      "simulatedtemperaturesensor-identity",
    );
    assert.match(
      Buffer.from(sensor?.data["connectionString"] ?? "", "base64").toString(),
      /ModuleId=SimulatedTemperatureSensor;SharedAccessKey=[^;]+;GatewayHostName=edgehub$/,
    );
    const deployment = await getObject<{
      spec: { template: { spec: { containers: { env: { name: string; value?: string; valueFrom?: unknown }[] }[] } } };
    }>(cluster.admin, "Deployment", NS, "simulatedtemperaturesensor");
    const env = deployment?.spec.template.spec.containers[0]?.env ?? [];
    assert.equal(env.find((e) => e.name === "EdgeModuleCACertificateFile")?.value, "/etc/edgek8s/trust/ca.crt");
    const pod = (deployment as unknown as { spec: { template: { spec: { volumes: Json[] } } } }).spec.template.spec;
    assert.deepEqual(
      pod.volumes.find((v) => v["name"] === "edgek8s-trust")?.["secret"],
      { secretName: "edgehub-ca", items: [{ key: "ca.crt", path: "ca.crt" }], defaultMode: 0o444 },
      "modules mount the CA certificate, never its key",
    );
    const caSecret = await getObject<{ data: Record<string, string> }>(cluster.admin, "Secret", NS, "edgehub-ca");
    const serverSecret = await getObject<{ data: Record<string, string> }>(
      cluster.admin,
      "Secret",
      NS,
      "edgehub-server-cert",
    );
    const pem = (s: { data: Record<string, string> } | undefined, key: string) =>
      Buffer.from(s?.data[key] ?? "", "base64").toString();
    const serverCert = new X509Certificate(pem(serverSecret, "tls.crt"));
    assert.ok(serverCert.verify(new X509Certificate(pem(caSecret, "ca.crt")).publicKey));
    assert.ok(serverCert.checkHost("edgehub"));
    assert.deepEqual(env.find((e) => e.name === "EdgeHubConnectionString")?.valueFrom, {
      secretKeyRef: { name: "simulatedtemperaturesensor-identity", key: "connectionString" },
    });
  });

  it("reports in the real agent's shape, and the IoT Hub success condition holds once modules run", async () => {
    const version = desiredVersion();
    await waitFor(
      "reported success",
      async () => {
        const r = reported();
        return Promise.resolve(
          r["lastDesiredVersion"] === version &&
            (r["lastDesiredStatus"] as Json | undefined)?.["code"] === 200 &&
            r.modules?.["SimulatedTemperatureSensor"]?.["runtimeStatus"] === "running" &&
            (r["systemModules"] as Record<string, Json> | undefined)?.["edgeHub"]?.["runtimeStatus"] === "running" &&
            (r["edgek8s"] as Json | undefined)?.["ready"] === true,
        );
      },
      60_000,
      () => JSON.stringify(reported()),
    );
    const r = reported();
    console.log(`reported properties of ${DEVICE}/$edgeAgent:\n${JSON.stringify(r, null, 2)}`);
    for (const key of [
      "schemaVersion",
      "version",
      "lastDesiredVersion",
      "lastDesiredStatus",
      "runtime",
      "systemModules",
      "modules",
      "heartbeat",
      "edgek8s",
    ])
      assert.ok(key in r, `reported has ${key}`);
    // The rollout's gate: ready for exactly the desired version IoT Hub sent.
    const readiness = r["edgek8s"] as Json;
    assert.deepEqual(
      [readiness["ready"], readiness["readyVersion"], readiness["modulesReady"], readiness["modulesTotal"]],
      [true, version, 2, 2],
    );
    assert.match(String(readiness["readySince"]), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(Object.keys((r["runtime"] as Json)["platform"] as Json).sort(), ["architecture", "os", "version"]);
    const sensor = r.modules?.["SimulatedTemperatureSensor"] ?? {};
    for (const key of ["runtimeStatus", "restartCount", "lastStartTimeUtc", "status", "version", "type", "settings"])
      assert.ok(key in sensor, `module has ${key}`);
    const patches = twins.reportedPatches.filter((p) => p.deviceId === DEVICE);
    assert.ok(patches.length >= 2, "reported as several patches");
    assert.ok(
      patches.slice(1).every((p) => !("schemaVersion" in p.patch)),
      "later reports are diffs, not whole documents",
    );
  });

  it("a patch after a lost one is not applied out of order: the whole twin is fetched again", async () => {
    const before = desiredVersion();
    const modules = {
      ...((hub.devices.get(DEVICE)?.modules.get(AGENT)?.twin.desired["modules"] as Json | undefined) ?? {}),
    };
    const sensor = structuredClone(modules["SimulatedTemperatureSensor"]) as { settings: { image: string } };
    sensor.settings.image = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5.1";
    twins.patchDesired(DEVICE, AGENT, { modules: { SimulatedTemperatureSensor: sensor } }, false); // lost
    twins.patchDesired(DEVICE, AGENT, {
      modules: {
        Pump: {
          version: "1.0",
          type: "docker",
          status: "running",
          restartPolicy: "always",
          settings: { image: "contoso.azurecr.io/pump:1.0" },
        },
      },
    });
    assert.equal(desiredVersion(), before + 2);
    await waitFor("both changes, in order", async () => (await spec())?.desiredVersion === before + 2, 30_000);
    const current = await spec();
    assert.equal(
      (current?.edgeAgent.modules["SimulatedTemperatureSensor"] as { settings: { image: string } }).settings.image,
      "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5.1",
    );
    assert.ok("Pump" in (current?.edgeAgent.modules ?? {}));
    assert.ok(
      logs.some(
        (l) => l.includes("fetching the whole twin") && l.includes(`notified of $version ${String(before + 2)}`),
      ),
    );
  });

  it("invalid desired properties → 400 with a description, and the cluster keeps the last good state", async () => {
    const good = await spec();
    const names = await deploymentNames();
    const bad = structuredClone(hub.devices.get(DEVICE)?.modules.get(AGENT)?.twin.desired) as unknown as Json & {
      modules: Record<string, { settings: Json }>;
    };
    delete (bad as Json)["$version"];
    const pump = bad.modules["Pump"];
    if (pump) pump.settings["createOptions"] = "{not json";
    twins.setDesired(DEVICE, AGENT, bad);
    const version = desiredVersion();
    await waitFor(
      "reported 400",
      async () =>
        Promise.resolve(
          reported()["lastDesiredVersion"] === version && (reported()["lastDesiredStatus"] as Json)["code"] === 400,
        ),
      30_000,
      () => JSON.stringify(reported()["lastDesiredStatus"]),
    );
    assert.match(String((reported()["lastDesiredStatus"] as Json)["description"]), /Pump\.settings\.createOptions/);
    await sleep(500);
    assert.deepEqual(await spec(), good);
    assert.deepEqual(await deploymentNames(), names);
  });

  it("a whole replacement (no null for what it removes) is followed: the removed module loses its identity, Secret and Deployment", async () => {
    const { edgeAgent } = quickstart();
    twins.setDesired(DEVICE, AGENT, edgeAgent); // IoT Hub notifies a replacement whole

    const version = desiredVersion();
    await waitFor("Pump gone", async () => (await spec())?.desiredVersion === version, 30_000);
    await waitFor(
      "Pump identity removed",
      async () => Promise.resolve(!hub.devices.get(DEVICE)?.modules.has("Pump")),
      30_000,
    );
    assert.equal(await getObject(cluster.admin, "Secret", NS, "pump-identity"), undefined);
    assert.ok(hub.devices.get(DEVICE)?.modules.has("SimulatedTemperatureSensor"));
    await waitFor("Pump Deployment gone", async () => !(await deploymentNames()).includes("pump"), 30_000);
  });

  it("hub down: nothing is deleted; hub back: reconnect, fetch the whole twin, converge, catch up reported", async () => {
    const names = await deploymentNames();
    hub.unavailable = true;
    twins.refuse = true;
    twins.dropConnections();
    await sleep(3000);
    assert.deepEqual(await deploymentNames(), names, "workloads keep running while the hub is unreachable");
    assert.ok((await spec())?.desiredVersion !== undefined);
    // Meanwhile the cloud moves on; the device cannot hear it.
    const { edgeAgent } = quickstart();
    (edgeAgent["modules"] as Record<string, { settings: { image: string } }>)[
      "SimulatedTemperatureSensor"
    ]!.settings.image = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5.2";
    twins.setDesired(DEVICE, AGENT, edgeAgent, false);
    const version = desiredVersion();
    hub.unavailable = false;
    twins.refuse = false;
    await waitFor("converged after reconnect", async () => (await spec())?.desiredVersion === version, 60_000);
    await waitFor(
      "reported caught up",
      async () => Promise.resolve(reported()["lastDesiredVersion"] === version),
      60_000,
    );
    assert.ok(twins.connects.filter((c) => c === `${DEVICE}/${AGENT}`).length >= 2);
  });

  it("a restarted agent keeps its identities (from their Secrets), asks IoT Hub's registry nothing, resumes from the whole twin", async () => {
    const key = hub.devices.get(DEVICE)?.modules.get(AGENT)?.authentication.symmetricKey.primaryKey;
    const registryCalls = () => hub.requests.filter((r) => r.registry).length;
    const callsBefore = registryCalls();
    const applied = () => logs.filter((l) => l.includes("desired properties applied to the EdgeDeployment")).length;
    const appliedBefore = applied();
    await bridges.stop();
    bridges = await startBridges();
    await waitFor("the whole twin applied again", async () => Promise.resolve(applied() > appliedBefore), 30_000);
    assert.equal(hub.devices.get(DEVICE)?.modules.get(AGENT)?.authentication.symmetricKey.primaryKey, key);
    assert.equal(registryCalls(), callsBefore, "no identity registry call: every identity Secret is current");
    const version = desiredVersion();
    assert.equal((await spec())?.desiredVersion, version);
  });

  it("never logs a key or connection string", () => {
    const text = logs.join("\n");
    assert.doesNotMatch(text, /SharedAccessKey=|SharedAccessSignature /);
    for (const device of hub.devices.values()) {
      for (const identity of [device, ...device.modules.values()]) {
        for (const key of keysOf(identity.authentication)) assert.ok(!text.includes(key));
      }
    }
  });
});
