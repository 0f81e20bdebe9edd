import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AuditEntry } from "../../scripts/cluster/audit.ts";
import { parseAuditLine } from "../../scripts/cluster/audit.ts";
import { desiredOf } from "../../scripts/soak/fleet.ts";
import {
  type SpecVersion,
  logProblems,
  rssTrend,
  writesToInvalidDevices,
  wrongDeletes,
} from "../../scripts/soak/invariants.ts";
import { Random } from "../../scripts/soak/random.ts";

// The soak's checks must catch what they claim to (a check that cannot fail is a defect).
const NS = "msiot-soak-d";
const device = {
  id: "d",
  namespace: NS,
  revision: 1,
  withScratch: true,
  invalid: false,
  registryPassword: "pw-123456",
};
const withScratch = desiredOf(device);
const withoutScratch = desiredOf({ ...device, withScratch: false });
const invalid = desiredOf({ ...device, invalid: true });
const version = (sentAt: number, desired: SpecVersion["desired"]): SpecVersion => ({
  namespace: NS,
  sentAt,
  ackedAt: sentAt + 10,
  desired,
});
const write = (time: number, verb: string, resource: string, name: string, user = "agent"): AuditEntry => ({
  time,
  verb,
  user,
  resource,
  namespace: NS,
  name,
  subresource: undefined,
  code: 200,
  dryRun: false,
});

describe("soak invariants", () => {
  it("the fleet's devices translate: shared claim, stopped module, pull secret, a deletable claim", () => {
    assert.ok(withScratch.valid && !invalid.valid);
    for (const ref of [
      "PersistentVolumeClaim/shared",
      "Deployment/gamma",
      "Secret/registry-soak",
      "Deployment/scratch",
    ])
      assert.ok(withScratch.objects.has(ref), ref);
    assert.deepEqual([...withScratch.deletableClaims], ["scratch"]);
  });

  it("a delete is wrong unless a recent valid spec did not want the object; a claim only when it may go", () => {
    const versions = [version(0, withScratch), version(1000, withoutScratch)];
    const found = wrongDeletes(
      [
        write(1500, "delete", "deployments", "scratch"), // removed by the spec at 1000: fine
        write(1600, "delete", "persistentvolumeclaims", "scratch"), // its module opted in: fine
        write(1700, "delete", "deployments", "alpha"), // always wanted
        write(1800, "delete", "persistentvolumeclaims", "shared"), // to be kept
        write(500, "delete", "deployments", "scratch"), // before the spec that removed it
        write(1900, "delete", "deployments", "alpha", "admin"), // not a replica
      ],
      versions,
      ["agent"],
      10_000,
    );
    assert.deepEqual(
      found.map((v) => v.invariant),
      ["object of a wanted module deleted", "claim deleted that should be kept", "object of a wanted module deleted"],
    );
  });

  it("no write to an invalid device's objects after a grace; status and events are not its objects", () => {
    const versions = [version(0, withScratch), version(1000, invalid), version(9000, withScratch)];
    const found = writesToInvalidDevices(
      [
        write(1500, "patch", "deployments", "beta"), // within the grace
        write(4000, "patch", "deployments", "beta"),
        write(4000, "patch", "edgedeployments", "d"),
        write(4000, "create", "events", "d.1"),
        write(9500, "patch", "deployments", "beta"), // valid again
      ],
      versions,
      ["agent"],
      2000,
    );
    assert.deepEqual(
      found.map((v) => v.detail.split(" ").slice(-2).join(" ")),
      [`deployments ${NS}/beta`],
    );
  });

  it("logs: a stack trace, a secret or a line that is not JSON is found", () => {
    const lines = [
      '{"level":"info","msg":"applied"}',
      '{"level":"error","msg":"x","error":"boom\\n    at f (/app/a.js:1:2)"}',
      '{"level":"info","msg":"password pw-123456"}',
      "Error: raw",
    ];
    assert.deepEqual(
      logProblems(lines, ["pw-123456"], "a").map((v) => v.invariant),
      ["stack trace in logs", "secret in logs", "log line not JSON"],
    );
  });

  it("RSS: growth over a process's life is found, a flat or short one is not", () => {
    const series = (mb: (i: number) => number, count = 60) =>
      Array.from({ length: count }, (_, i) => ({ at: i * 5000, bytes: mb(i) * 2 ** 20 }));
    const options = { warmupMs: 60_000, minimumSpanMs: 180_000, tolerance: 0.25, minimumBytes: 16 << 20 };
    assert.equal(
      rssTrend(
        series(() => 120),
        options,
      )?.growing,
      false,
    );
    assert.equal(
      rssTrend(
        series((i) => 120 + i * 2),
        options,
      )?.growing,
      true,
    );
    assert.equal(
      rssTrend(
        series((i) => 120 + i, 20),
        options,
      ),
      undefined,
    );
  });

  it("audit lines: receive time, user, object, dry run", () => {
    const entry = parseAuditLine(
      JSON.stringify({
        verb: "patch",
        requestURI: "/apis/apps/v1/namespaces/n/deployments/x?dryRun=All&fieldManager=edgek8s-agent",
        user: { username: "system:serviceaccount:s:agent-a" },
        objectRef: { resource: "deployments", namespace: "n", name: "x" },
        responseStatus: { code: 200 },
        requestReceivedTimestamp: "2026-01-01T00:00:01.250000Z",
      }),
    );
    assert.deepEqual(
      [entry.time, entry.user, entry.resource, entry.name, entry.dryRun],
      [Date.parse("2026-01-01T00:00:01.250Z"), "system:serviceaccount:s:agent-a", "deployments", "x", true],
    );
  });

  it("the seeded source repeats itself", () => {
    const a = new Random(7);
    const b = new Random(7);
    assert.deepEqual(
      Array.from({ length: 5 }, () => a.int(0, 100)),
      Array.from({ length: 5 }, () => b.int(0, 100)),
    );
  });
});
