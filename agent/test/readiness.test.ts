import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import type { Readiness } from "../src/crd/edgeDeployment.ts";
import { reportedProperties, fitReported } from "../src/hub/reported.ts";
import { APPLIED_HASH } from "../src/reconcile/drift.ts";
import { edgeDeploymentStatus } from "../src/status/deploymentStatus.ts";
import { type ModuleRollout, readiness, rolloutGap } from "../src/status/readiness.ts";
import type { TranslatedModule } from "../src/translate/translate.ts";

const sensor: TranslatedModule = { id: "Sensor", k8sName: "sensor", startupOrder: 0, status: "running" };
const HASH = "new-template-hash";

/** A Deployment as the Deployment controller leaves it once a rollout of `hash` finished. */
function deployment(over: { hash?: string; replicas?: number; generation?: number; status?: object } = {}) {
  const replicas = over.replicas ?? 1;
  return {
    metadata: { generation: over.generation ?? 2, annotations: { [APPLIED_HASH]: over.hash ?? HASH } },
    spec: { replicas, selector: {}, template: {} },
    status: {
      observedGeneration: 2,
      replicas,
      updatedReplicas: replicas,
      availableReplicas: replicas,
      ...over.status,
    },
  } as V1Deployment;
}

const running = { name: "sensor", runtimeStatus: "running" as const, restartCount: 0 };
const rollout = (over: Partial<ModuleRollout> = {}): ModuleRollout => ({
  module: sensor,
  status: running,
  expectedHash: HASH,
  deployment: deployment(),
  ...over,
});

describe("readiness: exactly the desired version, on the current template", () => {
  it("a module counts once its Deployment rolled out the template this version produced", () => {
    assert.equal(rolloutGap(rollout()), undefined);
    assert.equal(rolloutGap(rollout({ deployment: undefined })), "not created yet");
    // The cache still holds the Deployment of the previous version (the apply is not seen yet).
    assert.equal(rolloutGap(rollout({ deployment: deployment({ hash: "old-template-hash" }) })), "not updated yet");
    // Applied, but the Deployment controller has not acted on the new generation.
    assert.equal(rolloutGap(rollout({ deployment: deployment({ generation: 3 }) })), "rolling out");
    // An old pod still serves beside the new one (RollingUpdate surge).
    assert.equal(rolloutGap(rollout({ deployment: deployment({ status: { replicas: 2 } }) })), "rolling out");
    assert.equal(rolloutGap(rollout({ deployment: deployment({ status: { updatedReplicas: 0 } }) })), "rolling out");
    assert.equal(rolloutGap(rollout({ deployment: deployment({ status: { availableReplicas: 0 } }) })), "rolling out");
  });

  it("a stopped module counts once it is scaled to zero with no pod left", () => {
    const stopped = { ...sensor, status: "stopped" as const };
    const status = { ...running, runtimeStatus: "stopped" as const };
    assert.equal(rolloutGap(rollout({ module: stopped, status, deployment: deployment({ replicas: 0 }) })), undefined);
    const draining = deployment({ replicas: 0, status: { replicas: 1 } });
    assert.equal(rolloutGap(rollout({ module: stopped, status, deployment: draining })), "rolling out");
    // Still scaled to one: the stop has not been applied.
    assert.equal(rolloutGap(rollout({ module: stopped, status, deployment: deployment() })), "not updated yet");
  });

  it("ready only when every module is as desired and rolled out; blocked passes are never ready", () => {
    const r = (modules: ModuleRollout[], blocked = false) =>
      readiness({ modules, blocked, desiredVersion: 7, previous: undefined, now: "t1" });
    assert.deepEqual(r([rollout(), rollout()]), {
      ready: true,
      readyVersion: 7,
      modulesReady: 2,
      modulesTotal: 2,
      readySince: "t1",
    });
    const backoff = rollout({ status: { ...running, runtimeStatus: "backoff" } });
    assert.deepEqual([r([rollout(), backoff]).ready, r([rollout(), backoff]).modulesReady], [false, 1]);
    assert.equal(r([rollout({ deployment: deployment({ hash: "old" }) })]).ready, false);
    assert.equal(r([rollout()], true).ready, false);
  });

  it("readySince moves when ready or readyVersion changes, and only then", () => {
    const at = (
      now: string,
      previous: Readiness | undefined,
      desiredVersion: number,
      modules: ModuleRollout[] = [rollout()],
    ) => readiness({ modules, blocked: false, desiredVersion, previous, now });
    const first = at("t1", undefined, 7);
    const same = at("t2", first, 7);
    assert.equal(same.readySince, "t1");
    const crashing = [rollout({ status: { ...running, runtimeStatus: "backoff" } })];
    const failed = at("t3", same, 7, crashing);
    assert.equal(failed.readySince, "t3");
    assert.equal(at("t4", failed, 7, crashing).readySince, "t3");
    // A new version arrives while still not ready: its grace period starts now, not at t3.
    assert.equal(at("t5", failed, 8, crashing).readySince, "t5");
  });
});

describe("readiness in the EdgeDeployment status and the reported properties", () => {
  const pod: V1Pod = {
    metadata: { name: "sensor-1", creationTimestamp: new Date("2026-01-01T00:00:00Z") },
    status: {
      phase: "Running",
      containerStatuses: [
        {
          name: "sensor",
          image: "x",
          imageID: "",
          ready: true,
          restartCount: 0,
          state: { running: { startedAt: new Date("2026-01-01T00:00:01Z") } },
        },
      ],
    },
  };
  const applied = (live: V1Deployment) =>
    edgeDeploymentStatus({
      generation: 3,
      desiredVersion: 9,
      previous: undefined,
      now: "2026-01-01T00:05:00.000Z",
      outcome: {
        kind: "applied",
        modules: [{ ...sensor, version: "1.0" }],
        warnings: [],
        deployments: new Map([["sensor", live]]),
        expectedHashes: new Map([["sensor", HASH]]),
        pods: new Map([["sensor", [pod]]]),
        waitingFor: [],
        applyError: undefined,
      },
    });

  it("an old pod running the previous template is neither Ready nor ready for the new version", () => {
    const stale = applied(deployment({ hash: "old" }));
    assert.equal(stale.modules?.["Sensor"]?.runtimeStatus, "running", "the pod itself runs");
    assert.equal(stale.readiness?.ready, false);
    assert.equal(stale.conditions?.find((c) => c.type === "Ready")?.status, "False");
    assert.match(stale.conditions?.find((c) => c.type === "Ready")?.message ?? "", /Sensor \(not updated yet\)/);
    const current = applied(deployment());
    assert.deepEqual(current.readiness, {
      ready: true,
      readyVersion: 9,
      modulesReady: 1,
      modulesTotal: 1,
      readySince: "2026-01-01T00:05:00.000Z",
    });
    assert.equal(current.conditions?.find((c) => c.type === "Ready")?.status, "True");
  });

  it("an invalid manifest is not ready for its version", () => {
    const status = edgeDeploymentStatus({
      generation: 4,
      desiredVersion: 10,
      previous: applied(deployment()),
      now: "2026-01-01T00:06:00.000Z",
      outcome: { kind: "invalid", issues: [{ path: "x", message: "bad", kind: "invalid" }], warnings: [] },
    });
    assert.deepEqual([status.readiness?.ready, status.readiness?.readyVersion], [false, 10]);
  });

  it("is reported as properties.reported.edgek8s, and survives fitting into 32 KB", () => {
    const status = applied(deployment());
    const doc = reportedProperties({
      agent: { version: "0.1.0", os: "linux", architecture: "x86_64", startedUtc: "2026-01-01T00:00:00Z" },
      lastDesiredVersion: 9,
      lastDesiredStatus: { code: 200, description: "" },
      desired: { modules: { Sensor: { settings: { image: "x", createOptions: "y".repeat(40_000) } } } },
      status,
      heartbeatUtc: "2026-01-01T00:06:00Z",
    });
    const expected = {
      ready: true,
      readyVersion: 9,
      modulesReady: 1,
      modulesTotal: 1,
      readySince: "2026-01-01T00:05:00.000Z",
    };
    assert.deepEqual(doc["edgek8s"], expected);
    assert.deepEqual(fitReported(doc)["edgek8s"], expected);
  });
});
