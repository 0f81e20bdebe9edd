import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { describe, it } from "node:test";
import {
  RENEW_BEFORE_DAYS,
  SERVER_DAYS,
  createDeviceCa,
  issueEdgeHubCertificate,
  needsIssuing,
} from "../src/hub/certificates.ts";
import { moduleConnectionString, parseDeviceConnectionString } from "../src/hub/connectionString.ts";
import {
  MANAGED_BY_EDGE,
  credentialsFingerprint,
  identityFromSecret,
  identitySecret,
  isCurrent,
  isManagedByEdge,
} from "../src/hub/identities.ts";
import { MAX_DESCRIPTION, fitReported, reportedProperties, twinSize } from "../src/hub/reported.ts";
import { ReportedSender } from "../src/hub/reporter.ts";
import { TimeoutError } from "../src/hub/retry.ts";
import { jsonLogger } from "../src/runtime/log.ts";
import { twinSize as doubleSize } from "./hub/twinRules.ts";
import { DesiredTracker, diffPatch } from "../src/hub/twin.ts";

describe("hub: device credentials", () => {
  it("parses a device connection string and refuses hub-wide or module ones, never echoing the key", () => {
    assert.deepEqual(parseDeviceConnectionString("HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=a2V5"), {
      hostName: "h.azure-devices.net",
      deviceId: "d",
      sharedAccessKey: "a2V5",
    });
    assert.throws(
      () => parseDeviceConnectionString("HostName=h;SharedAccessKey=c2VjcmV0"),
      (e: Error) => {
        assert.equal(e.message, "device connection string: missing DeviceId");
        return true;
      },
    );
    assert.throws(
      () =>
        parseDeviceConnectionString("HostName=h;DeviceId=d;SharedAccessKeyName=iothubowner;SharedAccessKey=c2VjcmV0"),
      /hub policy's.*only its device's key/,
    );
    assert.throws(
      () => parseDeviceConnectionString("HostName=h;DeviceId=d;ModuleId=m;SharedAccessKey=c2VjcmV0"),
      /ModuleId/,
    );
    assert.equal(
      moduleConnectionString("h", "d", "m", "k", "edgehub"),
      "HostName=h;DeviceId=d;ModuleId=m;SharedAccessKey=k;GatewayHostName=edgehub",
    );
  });

  it("writes a module's identity Secret (edgeHub without gateway) and reads it back with its hub and device", () => {
    const credentials = { hostName: "h", deviceId: "d", sharedAccessKey: "ZGV2aWNl" };
    const sensor = identitySecret("ns", credentials, { moduleId: "Sensor", key: "a2V5", generationId: "6" });
    assert.equal(sensor.metadata?.name, "sensor-identity");
    assert.match(sensor.stringData["connectionString"] ?? "", /;GatewayHostName=edgehub$/);
    assert.equal(sensor.metadata?.labels?.["app.kubernetes.io/managed-by"], "edgek8s-hub-bridge");
    const hub = identitySecret("ns", credentials, { moduleId: "$edgeHub", key: "a2V5", generationId: "7" });
    assert.doesNotMatch(hub.stringData["connectionString"] ?? "", /GatewayHostName/);
    const b64 = (t: string) => Buffer.from(t).toString("base64");
    const stored = {
      data: Object.fromEntries(Object.entries(hub.stringData).map(([k, v]) => [k, b64(v)])),
    };
    const read = identityFromSecret(stored);
    assert.deepEqual(read, {
      moduleId: "$edgeHub",
      key: "a2V5",
      generationId: "7",
      hostName: "h",
      deviceId: "d",
      provisionedWith: credentialsFingerprint(credentials),
    });
    assert.doesNotMatch(JSON.stringify(hub.stringData), /ZGV2aWNl/, "the device key is never stored, only its hash");
    assert.equal(identityFromSecret(undefined), undefined);
    assert.equal(identityFromSecret({ data: { "ca.crt": b64("x") } }), undefined, "not an identity Secret");
  });

  it("trusts a stored identity only for the hub, device and credentials it was made with", () => {
    const credentials = { hostName: "h", deviceId: "d", sharedAccessKey: "ZGV2aWNl" };
    const stored = {
      moduleId: "$edgeAgent",
      key: "k",
      generationId: "1",
      hostName: "h",
      deviceId: "d",
      provisionedWith: credentialsFingerprint(credentials),
    };
    assert.equal(isCurrent(stored, credentials), true);
    assert.equal(isCurrent({ ...stored, hostName: "other" }, credentials), false);
    assert.equal(isCurrent({ ...stored, deviceId: "other" }, credentials), false);
    assert.equal(isCurrent(stored, { ...credentials, sharedAccessKey: "bmV3LWtleQ==" }), false, "re-created device");
    assert.equal(isCurrent({ ...stored, provisionedWith: "" }, credentials), false, "written by an older agent");
  });

  it("compares managedBy as IoT Edge does: case-insensitively, and writes IoT Edge's own value", () => {
    assert.equal(MANAGED_BY_EDGE, "IotEdge");
    for (const managedBy of ["IotEdge", "iotEdge", "iotedge", "IOTEDGE"])
      assert.equal(isManagedByEdge({ managedBy }), true);
    assert.equal(isManagedByEdge({ managedBy: "someone" }), false);
    assert.equal(isManagedByEdge({}), false);
  });
});

describe("hub: desired properties", () => {
  it("applies a whole document when its version is new; a notification only ever triggers a fetch", () => {
    const t = new DesiredTracker();
    assert.equal(t.notified({ $version: 3 }).kind, "refetch");
    assert.equal(t.full({ a: 1, $version: 3 }).kind, "apply");
    assert.equal(t.full({ a: 1, $version: 3 }).kind, "ignore");
    assert.equal(t.notified({ a: 2, $version: 3 }).kind, "ignore");
    // Whether it is a patch or a whole replacement cannot be told: it is never merged.
    const next = t.notified({ b: { c: 1 }, $version: 4 });
    assert.deepEqual(next, { kind: "refetch", reason: "notified of $version 4" });
    assert.deepEqual(t.desired, { a: 1, $version: 3 });
    assert.equal(t.full({ nothing: true }).kind, "refetch");
    assert.equal(t.full({ a: 3, $version: 5 }).kind, "apply");
  });

  it("keeps its own copy of what the SDK hands over", () => {
    const t = new DesiredTracker();
    const doc: Record<string, unknown> & { $version: number } = { a: 1, $version: 1 };
    t.full(doc);
    doc.$version = 2;
    assert.equal(t.desired?.$version, 1);
  });
});

describe("hub: reported properties", () => {
  const desired = {
    schemaVersion: "1.1",
    runtime: { type: "docker", settings: {} },
    systemModules: {
      edgeAgent: { type: "docker", settings: { image: "agent:1.5" } },
      edgeHub: {
        type: "docker",
        status: "running",
        restartPolicy: "always",
        settings: { image: "hub:1.5", createOptions: "{}" },
      },
    },
    modules: {
      Sensor: {
        version: "1.0",
        type: "docker",
        status: "running",
        restartPolicy: "always",
        settings: { image: "sensor:1.0" },
      },
    },
  };
  const base = {
    agent: { version: "0.1.0", os: "linux", architecture: "x86_64", startedUtc: "2026-01-01T00:00:00Z" },
    lastDesiredVersion: 7,
    lastDesiredStatus: { code: 200, description: "" },
    desired,
    status: {
      modules: {
        $edgeHub: {
          name: "edgehub",
          runtimeStatus: "running" as const,
          restartCount: 0,
          lastStartTimeUtc: "2026-01-01T00:01:00Z",
        },
        Sensor: {
          name: "sensor",
          runtimeStatus: "backoff" as const,
          restartCount: 3,
          exitCode: 1,
          lastExitTimeUtc: "2026-01-01T00:02:00Z",
        },
      },
    },
    heartbeatUtc: "2026-01-01T00:03:00Z",
  };

  it("has the real agent's shape: version, lastDesired*, runtime.platform, systemModules, modules, plus heartbeat", () => {
    const r = reportedProperties(base);
    assert.deepEqual(r["lastDesiredStatus"], { code: 200, description: "" });
    assert.equal(r["lastDesiredVersion"], 7);
    assert.deepEqual((r["runtime"] as { platform: unknown }).platform, {
      os: "linux",
      architecture: "x86_64",
      version: "0.1.0",
    });
    const modules = r["modules"] as Record<string, Record<string, unknown>>;
    assert.deepEqual(modules["Sensor"], {
      runtimeStatus: "backoff",
      exitCode: 1,
      lastExitTimeUtc: "2026-01-01T00:02:00Z",
      restartCount: 3,
      version: "1.0",
      status: "running",
      restartPolicy: "always",
      type: "docker",
      settings: { image: "sensor:1.0" },
    });
    const system = r["systemModules"] as Record<string, Record<string, unknown>>;
    assert.equal(system["edgeHub"]?.["runtimeStatus"], "running");
    assert.equal(system["edgeAgent"]?.["description"], "1 module(s) not running");
    assert.equal(r["heartbeat"], "2026-01-01T00:03:00Z");
  });

  it("sends diffs: only what changed, null for a module that is gone, nothing when nothing changed", () => {
    const before = reportedProperties(base);
    assert.deepEqual(diffPatch(before, before), {});
    const after = reportedProperties({
      ...base,
      desired: { ...desired, modules: {} },
      status: { modules: { $edgeHub: base.status.modules.$edgeHub } },
      heartbeatUtc: "2026-01-01T00:08:00Z",
    });
    assert.deepEqual(diffPatch(before, after), {
      systemModules: { edgeAgent: { description: "All modules are running" } },
      modules: { Sensor: null },
      heartbeat: "2026-01-01T00:08:00Z",
    });
  });
});

describe("hub: reported properties within IoT Hub's limits", () => {
  const agent = { version: "0.1.0", os: "linux", architecture: "x86_64", startedUtc: "2026-01-01T00:00:00Z" };
  // 48 user modules (with edgeHub and the agent: the 50 module identities IoT Hub allows), each with a
  // long image name and createOptions, within a desired document IoT Hub accepts (≤ 32 KB).
  const modules = Object.fromEntries(
    Array.from({ length: 48 }, (_, i) => [
      `module${String(i).padStart(2, "0")}`,
      {
        version: "1.0",
        type: "docker",
        status: "running",
        restartPolicy: "always",
        settings: {
          image: `contoso.azurecr.io/${"team/".repeat(36)}module${String(i)}:1.0.0`,
          createOptions: JSON.stringify({ Env: [`LONG=${"v".repeat(280)}`] }),
        },
      },
    ]),
  );
  const desired = {
    schemaVersion: "1.1",
    runtime: { type: "docker", settings: {} },
    systemModules: { edgeAgent: { type: "docker", settings: { image: "agent:1.5" } } },
    modules,
  };
  const status = {
    modules: Object.fromEntries(
      Object.keys(modules).map((id) => [
        id,
        {
          name: id,
          runtimeStatus: "backoff" as const,
          statusDescription: `Back-off pulling image: ${"error detail ".repeat(300)}`,
          restartCount: 12,
          exitCode: 137,
          lastStartTimeUtc: "2026-01-01T00:01:00Z",
          lastExitTimeUtc: "2026-01-01T00:02:00Z",
          lastRestartTimeUtc: "2026-01-01T00:02:00Z",
        },
      ]),
    ),
  };

  it("stays under 32 KB (IoT Hub's size rule) for 48 modules, keeping what deployment metrics read", () => {
    assert.ok(doubleSize(desired) <= 32 * 1024, "the input is a desired document IoT Hub accepts");
    const full = reportedProperties({
      agent,
      lastDesiredVersion: 7,
      lastDesiredStatus: { code: 200, description: "" },
      desired,
      status,
      heartbeatUtc: "2026-01-01T00:03:00Z",
    });
    assert.ok(doubleSize(full) > 32 * 1024, "unfitted, IoT Hub would refuse it");
    const fitted = fitReported(full);
    assert.ok(doubleSize(fitted) <= 32 * 1024, `fitted report is ${String(doubleSize(fitted))} bytes`);
    assert.equal(twinSize(fitted), doubleSize(fitted), "the product sizes as the double does");
    assert.equal(fitted["lastDesiredVersion"], 7);
    const m = (fitted["modules"] as Record<string, Record<string, unknown>>)["module00"] ?? {};
    assert.equal(m["runtimeStatus"], "backoff");
    assert.equal((m["settings"] as Record<string, unknown>)["image"], modules["module00"]?.settings.image);
    assert.equal((m["settings"] as Record<string, unknown>)["createOptions"], undefined, "dropped first");
    assert.ok(String(m["statusDescription"]).length <= MAX_DESCRIPTION);
    assert.deepEqual(
      fitReported(reportedProperties({ ...fittedInputs(), desired: {} })),
      reportedProperties({ ...fittedInputs(), desired: {} }),
    );
  });

  function fittedInputs() {
    return {
      agent,
      lastDesiredVersion: 1,
      lastDesiredStatus: { code: 200, description: "" },
      desired: {},
      status: undefined,
      heartbeatUtc: "2026-01-01T00:03:00Z",
    };
  }

  it("reports a patch IoT Hub refuses once as an error, then sends only the heartbeat until the report changes", async () => {
    const lines: string[] = [];
    const sender = new ReportedSender(jsonLogger((l) => lines.push(l), "debug"));
    sender.reset({ $version: 1 });
    const sent: Record<string, unknown>[] = [];
    let refuse = true;
    const update = (patch: Record<string, unknown>) => {
      sent.push(patch);
      // What the device SDK gives for a twin response carrying IoT Hub's errorCode: a plain Error.
      if (refuse && "modules" in patch) return Promise.reject(new Error("Twin properties size exceeds the limit"));
      return Promise.resolve();
    };
    const report = (heartbeat: string, restartCount = 1) => ({ modules: { a: { restartCount } }, heartbeat });
    await sender.send(report("t1"), update);
    await sender.send(report("t2"), update);
    await sender.send(report("t3"), update);
    assert.deepEqual(sent.slice(1), [{ heartbeat: "t2" }, { heartbeat: "t3" }]);
    assert.equal(lines.filter((l) => l.includes('"level":"error"')).length, 1);
    refuse = false;
    await sender.send(report("t4", 2), update);
    assert.deepEqual(sent.at(-1), { modules: { a: { restartCount: 2 } }, heartbeat: "t4" });
    assert.deepEqual(sender.last, report("t4", 2));
    // A failure that is not IoT Hub refusing the content is the caller's to retry.
    await assert.rejects(
      sender.send(report("t5", 3), () => Promise.reject(new TimeoutError("reporting took longer than 15 s"))),
      TimeoutError,
    );
  });
});

describe("hub: device CA and edgeHub's server certificate", () => {
  const now = new Date("2026-11-24T00:00:00Z");
  const ca = createDeviceCa("line1-gw", now);
  const server = issueEdgeHubCertificate(ca, "msiot-hub-line1-gw", now);

  it("issues edgeHub a server certificate for its Service names, verifiable with the device CA only", () => {
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(server.certPem);
    assert.equal(caCert.ca, true);
    assert.equal(cert.ca, false);
    assert.ok(cert.verify(caCert.publicKey));
    assert.ok(cert.checkHost("edgehub"));
    assert.ok(cert.checkHost("edgehub.msiot-hub-line1-gw.svc"));
    assert.equal(cert.checkHost("edgehub.other-namespace.svc"), undefined);
    assert.ok(cert.checkPrivateKey(createPrivateKey(server.keyPem)));
    assert.equal(new Date(cert.validTo).getTime() - now.getTime() <= SERVER_DAYS * 86_400_000, true);
  });

  it("issues again when the certificate is missing, from another CA, or near expiry", () => {
    assert.equal(needsIssuing(server.certPem, ca.certPem, now), false);
    assert.equal(needsIssuing(undefined, ca.certPem, now), true);
    assert.equal(needsIssuing("not a certificate", ca.certPem, now), true);
    assert.equal(needsIssuing(server.certPem, createDeviceCa("other", now).certPem, now), true);
    const later = new Date(now.getTime() + (SERVER_DAYS - RENEW_BEFORE_DAYS + 1) * 86_400_000);
    assert.equal(needsIssuing(server.certPem, ca.certPem, later), true);
  });
});
