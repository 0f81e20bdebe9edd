import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Cluster, RELEASE_CRD_FILE, startCluster } from "./harness.ts";
import { edgeRelease } from "./rolloutFleet.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { clusterConfigFromFile } from "../../src/kube/config.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { RESOURCES } from "../../src/kube/resources.ts";
import { DEFAULT_GATES } from "../../src/rollout/plan.ts";
import { LocalStore } from "../../src/rollout/localStore.ts";
import { LostRace } from "../../src/rollout/store.ts";

const STABLE = "ek8s-factory-aaaaaaaaaaaa";
const CANDIDATE = "ek8s-factory-bbbbbbbbbbbb";
const TARGET = "tags.site = 'west'";

type Release = KubeObject & { spec: { targetCondition: string; labels: Record<string, string> } };

describe("rollout store of a local stack on a real API server (EdgeRelease CRD)", () => {
  let cluster: Cluster;
  let admin: KubeClient;
  let store: LocalStore;

  before(async () => {
    cluster = await startCluster({ crdFiles: [RELEASE_CRD_FILE] });
    admin = cluster.admin;
    store = new LocalStore(new KubeClient(clusterConfigFromFile(cluster.plane.kubeconfigPath)), "test");
    await admin.apply(edgeRelease(STABLE, 1, "sensor:1", TARGET, "Stable"), "pulumi-kubernetes");
    await admin.apply(edgeRelease(CANDIDATE, 2, "sensor:2", "", "Staged"), "pulumi-kubernetes");
  });
  after(async () => {
    store.close();
    admin.close();
    await cluster.plane.stop();
  });

  it("writes only the target and the rollout labels, guarded by the resourceVersion; Pulumi's fields stay", async () => {
    const records = await store.list();
    const candidate = records.find((r) => r.id === CANDIDATE)!;
    const lease = { holder: "driver-a", renewed: "2026-11-30T10:00:00.000Z" };
    const written = await store.write(candidate, {
      targetCondition: `(${TARGET}) AND ((tags.ring = 'canary'))`,
      state: "Applying",
      ring: "canary",
      since: "2026-11-30T10:00:00.000Z",
      lease,
    });
    assert.deepEqual(written.lease, lease);
    const live = (await admin.get<Release>(RESOURCES.EdgeRelease, undefined, CANDIDATE))!;
    assert.equal(live.spec.targetCondition, `(${TARGET}) AND ((tags.ring = 'canary'))`);
    assert.deepEqual(live.spec.labels, {
      "edgek8s.managed": "true",
      "edgek8s.track": "factory",
      "edgek8s.stack": "edgek8s.local",
      "edgek8s.state": "Applying",
      "edgek8s.ring": "canary",
      "edgek8s.since": "2026-11-30T10:00:00.000Z",
    });
    assert.equal(live.metadata?.annotations?.["edgek8s.io/target-generation"], String(live.metadata?.generation));
    // A write from the version read before this one loses.
    await assert.rejects(
      store.write(candidate, { state: "Verifying", ring: "canary", since: "2026-11-30T10:01:00.000Z", lease }),
      LostRace,
    );
  });

  it("a label-only write keeps the target's generation; the lease is released when the run ends", async () => {
    const candidate = (await store.read(CANDIDATE))!;
    const before = (await admin.get<Release>(RESOURCES.EdgeRelease, undefined, CANDIDATE))!;
    await store.write(candidate, {
      state: "Verifying",
      ring: "canary",
      since: "2026-11-30T10:01:00.000Z",
      lease: undefined,
    });
    const live = (await admin.get<Release>(RESOURCES.EdgeRelease, undefined, CANDIDATE))!;
    assert.ok(
      (live.metadata?.generation ?? 0) > (before.metadata?.generation ?? 0),
      "labels are spec: the generation moves",
    );
    assert.equal(
      live.metadata?.annotations?.["edgek8s.io/target-generation"],
      before.metadata?.annotations?.["edgek8s.io/target-generation"],
    );
    assert.equal(live.metadata?.annotations?.["edgek8s.io/rollout-driver"], undefined);
    assert.equal((await store.read(CANDIDATE))?.lease, undefined);
  });

  it("observes devices as IoT Hub would: tags from the namespace, Applied from the engine's status once current", async () => {
    await admin.create({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: "msiot-local-canary-1",
        annotations: { "edgek8s.io/tags": JSON.stringify({ site: "west", ring: "canary" }) },
      },
    });
    await admin.create({
      apiVersion: "edgek8s.io/v1",
      kind: "EdgeDeployment",
      metadata: { name: "canary-1", namespace: "msiot-local-canary-1" },
      spec: { deviceId: "canary-1", hubHostName: "local-hub.azure-devices.net", desiredVersion: 4, edgeAgent: {} },
    });
    await admin.apply(
      {
        apiVersion: "edgek8s.io/v1",
        kind: "EdgeDeployment",
        metadata: { name: "canary-1", namespace: "msiot-local-canary-1" },
        status: {
          desiredVersion: 4,
          lastDesiredStatus: { code: 200, description: "" },
          readiness: {
            ready: true,
            readyVersion: 4,
            modulesReady: 2,
            modulesTotal: 2,
            readySince: "2026-11-30T10:00:30.000Z",
          },
          heartbeat: "2026-11-30T10:01:45.000Z",
        },
      },
      "edgek8s-agent",
      "status",
    );
    const request = {
      now: new Date("2026-11-30T10:02:00.000Z"),
      condition: `(${TARGET}) AND ((tags.ring = 'canary'))`,
      trackCondition: TARGET,
      judged: CANDIDATE,
      candidate: CANDIDATE,
      reports: true,
      gates: DEFAULT_GATES,
    };
    const stale = await store.observe(request);
    assert.deepEqual([stale.expected, stale.applied, stale.reports[0]?.appliedConfiguration], [1, 0, undefined]);
    // The release engine's status for the generation the target was written at.
    const live = (await admin.get<Release>(RESOURCES.EdgeRelease, undefined, CANDIDATE))!;
    await admin.apply(
      {
        apiVersion: "edgek8s.io/v1",
        kind: "EdgeRelease",
        metadata: { name: CANDIDATE },
        status: {
          observedGeneration: Number(live.metadata?.annotations?.["edgek8s.io/target-generation"]),
          applied: ["canary-1"],
          targeted: [],
        },
      },
      "edgek8s-release-engine",
      "status",
      RESOURCES.EdgeRelease,
    );
    const current = await store.observe(request);
    assert.deepEqual([current.expected, current.applied], [1, 1]);
    assert.deepEqual(current.reports[0], {
      deviceId: "canary-1",
      appliedConfiguration: CANDIDATE,
      desiredVersion: 4,
      lastDesiredVersion: 4,
      code: 200,
      readyVersion: 4,
      ready: true,
      readySince: "2026-11-30T10:00:30.000Z",
      // The agent's own heartbeat from the status, never the driver's clock.
      heartbeat: "2026-11-30T10:01:45.000Z",
    });
    assert.equal(await store.count(TARGET), 1);
    const problems = await store.preflight(['tags.site = "west"', TARGET]);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? "", /^condition tags.site = "west": .*single-quoted/);
  });
});
