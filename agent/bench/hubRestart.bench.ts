// Benchmark (not a test): IoT Hub identity registry calls an agent serving many devices makes, counted
// on the hub double through the real azure-iothub SDK signed with each device's key. First the
// devices' module identities are provisioned, then the agent "restarts" (same Secrets) and everything
// runs again. IoT Hub allows 100 registry operations a minute per S1 unit, for the whole hub.
// Usage: node agent/bench/hubRestart.bench.ts [devices] [modules per device]
import { performance } from "node:perf_hooks";
import { type DeviceCredentials, parseDeviceConnectionString } from "../src/hub/connectionString.ts";
import { sdkConnector } from "../src/hub/connector.ts";
import { edgeAgentIdentity } from "../src/hub/edgeAgentIdentity.ts";
import { syncModuleIdentities } from "../src/hub/identitySync.ts";
import { HubDouble } from "../test/hub/hubDouble.ts";
import { memoryStore } from "../test/hub/memoryStore.ts";

const DEVICES = Number(process.argv[2] ?? 500);
const MODULES = Number(process.argv[3] ?? 10);
const PER_MINUTE_S1 = 100;

const hub = await new HubDouble("bench-hub.azure-devices.net").start();
const connector = sdkConnector({ transport: "mqtt-ws", agent: hub.agent() });
const wanted = ["$edgeHub", ...Array.from({ length: MODULES }, (_, i) => `module${String(i)}`)];
const devices = Array.from({ length: DEVICES }, (_, i) => {
  const deviceId = `device-${String(i).padStart(4, "0")}`;
  hub.addEdgeDevice(deviceId);
  const credentials: DeviceCredentials = parseDeviceConnectionString(hub.deviceConnectionString(deviceId));
  return { credentials, store: memoryStore(`ns-${deviceId}`, () => credentials) };
});

/** What each bridge does on (re)start: its $edgeAgent identity, then the module identities of its deployment. */
async function startAll(): Promise<{ registryCalls: number; ms: number }> {
  const before = hub.requests.filter((r) => r.registry).length;
  const start = performance.now();
  for (const { credentials, store } of devices) {
    const registry = () => connector.deviceRegistry(credentials);
    await edgeAgentIdentity(store, credentials, registry);
    await syncModuleIdentities({ credentials, wanted, store, registry });
  }
  return { registryCalls: hub.requests.filter((r) => r.registry).length - before, ms: performance.now() - start };
}

const line = (what: string, r: { registryCalls: number; ms: number }) => {
  console.log(
    `${what}: ${String(r.registryCalls)} registry calls (${(r.registryCalls / DEVICES).toFixed(1)} per device; ` +
      `${(r.registryCalls / PER_MINUTE_S1).toFixed(1)} min of one S1 unit's budget), ${(r.ms / 1000).toFixed(1)} s on the double`,
  );
};
console.log(`${String(DEVICES)} devices × ${String(MODULES)} modules (+ edgeHub, + the agent's own identity)`);
line("first start (provisioning)", await startAll());
line("restart, identity Secrets current", await startAll());
await hub.stop();
