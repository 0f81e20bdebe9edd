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
import { identityFromSecret, identitySecret } from "../src/hub/identities.ts";
import { reportedProperties } from "../src/hub/reported.ts";
import { DesiredTracker, diffPatch, mergePatch } from "../src/hub/twin.ts";

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

  it("writes a module's identity Secret (edgeHub without gateway) and reads the $edgeAgent key back", () => {
    const sensor = identitySecret("ns", "h", "d", { moduleId: "Sensor", key: "a2V5", generationId: "6" });
    assert.equal(sensor.metadata?.name, "sensor-identity");
    assert.match(sensor.stringData["connectionString"] ?? "", /;GatewayHostName=edgehub$/);
    assert.equal(sensor.metadata?.labels?.["app.kubernetes.io/managed-by"], "edgek8s-hub-bridge");
    const hub = identitySecret("ns", "h", "d", { moduleId: "$edgeHub", key: "a2V5", generationId: "7" });
    assert.doesNotMatch(hub.stringData["connectionString"] ?? "", /GatewayHostName/);
    const b64 = (t: string) => Buffer.from(t).toString("base64");
    const stored = {
      data: {
        connectionString: b64("HostName=h;DeviceId=d;ModuleId=$edgeAgent;SharedAccessKey=a2V5"),
        generationId: b64("9"),
      },
    };
    assert.deepEqual(identityFromSecret(stored, "$edgeAgent"), {
      moduleId: "$edgeAgent",
      key: "a2V5",
      generationId: "9",
    });
    assert.equal(identityFromSecret(undefined, "$edgeAgent"), undefined);
  });
});

describe("hub: desired properties in version order", () => {
  it("applies the whole document, then only the next version; a gap or a patch first means refetch", () => {
    const t = new DesiredTracker();
    assert.equal(t.patch({ $version: 3 }).kind, "refetch");
    assert.equal(t.full({ a: 1, $version: 3 }).kind, "apply");
    assert.equal(t.full({ a: 1, $version: 3 }).kind, "ignore");
    assert.equal(t.patch({ a: 2, $version: 3 }).kind, "ignore");
    assert.deepEqual(t.patch({ b: { c: 1 }, $version: 4 }), {
      kind: "apply",
      desired: { a: 1, b: { c: 1 }, $version: 4 },
    });
    const gap = t.patch({ a: null, $version: 6 });
    assert.equal(gap.kind, "refetch");
    assert.match(gap.kind === "refetch" ? gap.reason : "", /\$version 6 after 4/);
    assert.equal(t.full({ nothing: true }).kind, "refetch");
  });

  it("keeps its own copy of what the SDK hands over", () => {
    const t = new DesiredTracker();
    const doc: Record<string, unknown> & { $version: number } = { a: 1, $version: 1 };
    t.full(doc);
    doc.$version = 2;
    assert.equal(t.patch({ a: 2, $version: 2 }).kind, "apply");
  });

  it("merges patches as twins do: null removes, objects merge", () => {
    assert.deepEqual(mergePatch({ a: 1, b: { c: 1, d: 2 } }, { a: null, b: { d: null, e: 3 } }), { b: { c: 1, e: 3 } });
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
