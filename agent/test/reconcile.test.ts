import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { manifest, userModule } from "./fixtures/manifests.ts";
import { render } from "./fixtures/render.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { APPLIED_HASH, isSubset, needsApply, withAppliedHash } from "../src/reconcile/drift.ts";
import { planPass } from "../src/reconcile/plan.ts";
import { withHeartbeat } from "../src/status/heartbeat.ts";
import { WorkQueue } from "../src/reconcile/queue.ts";
import { nextConditions } from "../src/status/conditions.ts";
import { edgeDeploymentStatus } from "../src/status/deploymentStatus.ts";
import { isStartingUp, moduleRuntimeStatus } from "../src/status/moduleStatus.ts";

describe("WorkQueue", () => {
  it("dedupes waiting keys and never hands out a key twice at once", async () => {
    const q = new WorkQueue();
    q.add("ns/a");
    q.add("ns/a");
    q.add("ns/b");
    assert.equal(q.length, 2);
    const first = await q.get();
    assert.equal(first, "ns/a");
    q.add("ns/a"); // while processing: remembered, not queued
    assert.equal(q.length, 1);
    assert.equal(await q.get(), "ns/b");
    q.done("ns/b");
    assert.equal(q.length, 0);
    q.done("ns/a"); // re-queued because it was added meanwhile
    assert.equal(q.length, 1);
    assert.equal(await q.get(), "ns/a");
    q.done("ns/a");
    q.shutDown();
    assert.equal(await q.get(), undefined);
  });

  it("backs off per key, exponentially and capped, and forget resets it", () => {
    const q = new WorkQueue(100, 1000);
    assert.deepEqual(
      [
        q.addRateLimited("k"),
        q.addRateLimited("k"),
        q.addRateLimited("k"),
        q.addRateLimited("k"),
        q.addRateLimited("k"),
      ],
      [100, 200, 400, 800, 1000],
    );
    assert.equal(q.addRateLimited("other"), 100);
    q.forget("k");
    assert.equal(q.addRateLimited("k"), 100);
    q.shutDown();
  });

  it("a worker's wait ends when its signal aborts (a lost term); the keys stay for the next", async () => {
    const q = new WorkQueue();
    const term = new AbortController();
    const waiting = q.get(term.signal);
    term.abort();
    assert.equal(await waiting, undefined);
    q.add("ns/y");
    assert.equal(await q.get(term.signal), undefined);
    assert.equal(await q.get(), "ns/y");
    q.shutDown();
  });

  it("hands a key to a waiting worker at once", async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add("ns/x");
    assert.equal(await waiting, "ns/x");
    q.shutDown();
  });
});

describe("drift", () => {
  it("isSubset ignores server-added fields and matches named list items by name", () => {
    const desired = { spec: { containers: [{ name: "b", image: "x:2" }], replicas: 1 } };
    const live = {
      spec: {
        containers: [
          { name: "a", image: "x:1" },
          { name: "b", image: "x:2", terminationMessagePath: "/dev/termination-log" },
        ],
        replicas: 1,
        revisionHistoryLimit: 10,
      },
    };
    assert.equal(isSubset(desired, live), true);
    assert.equal(isSubset({ spec: { replicas: 0 } }, live), false);
    assert.equal(isSubset({ spec: { containers: [{ name: "b", image: "x:3" }] } }, live), false);
    assert.equal(isSubset({ list: [1, 2] }, { list: [1] }), false);
  });

  it("needsApply: missing, changed manifest (hash), or a hand edit of a set field", () => {
    const desired = withAppliedHash<KubeObject>({ kind: "ConfigMap", metadata: { name: "x" }, data: { a: "1" } });
    assert.match(desired.metadata?.annotations?.[APPLIED_HASH] ?? "", /^[0-9a-f]{20}$/);
    assert.equal(needsApply(desired, undefined), true);
    const live = { ...desired, metadata: { ...desired.metadata, resourceVersion: "7", uid: "u" } };
    assert.equal(needsApply(desired, live), false);
    assert.equal(needsApply(desired, { ...live, data: { a: "edited" } }), true);
    const changed = withAppliedHash<KubeObject>({
      kind: "ConfigMap",
      metadata: { name: "x" },
      data: { a: "1", b: "2" },
    });
    assert.equal(
      needsApply(changed, { ...live, data: { a: "1", b: "2" } }),
      true,
      "a field removed from the manifest must still be applied away",
    );
  });
});

const deploymentOf = (name: string, available: number, replicas = 1): V1Deployment => ({
  metadata: { name, generation: 1 },
  spec: { replicas, selector: {}, template: { spec: { containers: [{ name, image: "x" }] } } },
  status: { observedGeneration: 1, availableReplicas: available },
});

describe("planPass", () => {
  const t = render(
    manifest({
      edgeHubExtra: { startupOrder: 0 },
      modules: {
        late: userModule("x/late:1", {}, { startupOrder: 2 }),
        mid: userModule("x/mid:1", { HostConfig: { Binds: ["old_data:/d"] } }, { startupOrder: 1 }),
      },
    }),
  );

  function liveOf(objects: Record<string, KubeObject>, owned: KubeObject[] = []) {
    return { owned, get: (kind: string, name: string) => objects[`${kind}/${name}`] };
  }

  it("applies everything new, but creates a module only after lower startupOrder modules are available", () => {
    const plan = planPass(t, liveOf({}), "uid-1");
    assert.deepEqual(plan.waitingFor, ["late", "mid"]);
    assert.ok(plan.apply.some((o) => o.kind === "Deployment" && o.metadata?.name === "edgehub"));
    assert.ok(!plan.apply.some((o) => o.metadata?.name === "late" || o.metadata?.name === "mid"));
    assert.deepEqual(
      plan.apply.filter((o) => o.kind === "PersistentVolumeClaim").map((o) => o.metadata?.name),
      ["old-data"],
      "a claim never waits: another module may mount it",
    );
    const next = planPass(t, liveOf({ "Deployment/edgehub": deploymentOf("edgehub", 1) as KubeObject }), "uid-1");
    assert.deepEqual(next.waitingFor, ["late"]);
  });

  it("skips what is already live and unchanged, prunes what is not wanted, keeps claims unless opted in", () => {
    const applied = Object.fromEntries(
      planPass(
        t,
        liveOf({
          "Deployment/edgehub": deploymentOf("edgehub", 1) as KubeObject,
          "Deployment/mid": deploymentOf("mid", 1) as KubeObject,
        }),
        "uid-1",
      ).apply.map((o) => [`${o.kind ?? ""}/${o.metadata?.name ?? ""}`, o]),
    );
    const live = {
      ...applied,
      "Deployment/edgehub": applied["Deployment/edgehub"]!,
      "Deployment/mid": applied["Deployment/mid"]!,
    };
    const owner = [{ apiVersion: "edgek8s.io/v1", kind: "EdgeDeployment", name: "d", uid: "uid-1", controller: true }];
    const gone = { kind: "Deployment", metadata: { name: "removed", ownerReferences: owner } };
    const keptClaim = {
      kind: "PersistentVolumeClaim",
      metadata: { name: "old", annotations: { "edgek8s.io/pvc-retention": "Retain" } },
    };
    const deletedClaim = {
      kind: "PersistentVolumeClaim",
      metadata: { name: "tmp", annotations: { "edgek8s.io/pvc-retention": "Delete" } },
    };
    const plan = planPass(t, liveOf(live, [gone, keptClaim, deletedClaim]), "uid-1");
    assert.deepEqual(
      plan.apply.map((o) => `${o.kind ?? ""}/${o.metadata?.name ?? ""}`),
      [],
    );
    assert.deepEqual(
      plan.prune.map((o) => o.metadata?.name),
      ["removed", "tmp"],
    );
  });

  it("a claim sharing a volume with a lower startupOrder module is made at once (no deadlock)", () => {
    // `alpha` sorts first, so the claim carries its label, but `beta` starts first and mounts it too.
    const shared = render(
      manifest({
        modules: {
          alpha: userModule("x/a:1", { HostConfig: { Binds: ["shared:/d"] } }, { startupOrder: 2 }),
          beta: userModule("x/b:1", { HostConfig: { Binds: ["shared:/d"] } }, { startupOrder: 1 }),
        },
      }),
    );
    const plan = planPass(shared, liveOf({}), "uid-1");
    assert.ok(plan.waitingFor.includes("alpha") && !plan.waitingFor.includes("beta"));
    assert.ok(plan.apply.some((o) => o.kind === "PersistentVolumeClaim" && o.metadata?.name === "shared"));
  });

  it("applies a claim once: the storageClassName the API server fills in is not a change", () => {
    const first = planPass(t, liveOf({}), "uid-1").apply.find((o) => o.kind === "PersistentVolumeClaim")!;
    const spec = first["spec"] as Record<string, unknown>;
    assert.equal(spec["storageClassName"], undefined);
    const live = { ...first, spec: { ...spec, storageClassName: "standard", volumeName: "pv-1" } };
    const next = planPass(t, liveOf({ "PersistentVolumeClaim/old-data": live }), "uid-1");
    assert.ok(!next.apply.some((o) => o.kind === "PersistentVolumeClaim"));
  });

  it("hashes every desired Deployment for status, held-back modules too: the hash apply carries", () => {
    const plan = planPass(t, liveOf({}), "uid-1");
    const deployments = t.objects.filter((o) => o.kind === "Deployment").map((o) => o.metadata.name);
    assert.deepEqual([...plan.deploymentHashes.keys()].sort(), [...deployments].sort());
    const edgeHub = plan.apply.find((o) => o.kind === "Deployment" && o.metadata?.name === "edgehub");
    assert.equal(plan.deploymentHashes.get("edgehub"), edgeHub?.metadata?.annotations?.[APPLIED_HASH]);
    const late = t.objects.find((o) => o.kind === "Deployment" && o.metadata.name === "late")!;
    assert.equal(plan.deploymentHashes.get("late"), withAppliedHash(late).metadata.annotations?.[APPLIED_HASH]);
  });

  it("leaves alone an object of the same name that another EdgeDeployment controls", () => {
    const other = {
      kind: "ServiceAccount",
      metadata: {
        name: "edgehub",
        ownerReferences: [
          { apiVersion: "edgek8s.io/v1", kind: "EdgeDeployment", name: "other", uid: "uid-2", controller: true },
        ],
      },
    };
    const plan = planPass(t, liveOf({ "ServiceAccount/edgehub": other }), "uid-1");
    assert.deepEqual(plan.conflicts, ["ServiceAccount/edgehub belongs to EdgeDeployment other"]);
    assert.ok(!plan.apply.some((o) => o.kind === "ServiceAccount" && o.metadata?.name === "edgehub"));
  });
});

describe("module runtime status (DESIGN §7)", () => {
  const module = { id: "sensor", k8sName: "sensor", startupOrder: 1, status: "running" as const };
  const pod = (containerStatus: object, phase = "Running", extra: object = {}): V1Pod => ({
    metadata: { name: "p", creationTimestamp: "2026-01-01T00:00:00Z" as unknown as Date },
    spec: { containers: [{ name: "sensor", image: "x" }] },
    status: {
      phase,
      containerStatuses: [
        { name: "sensor", image: "x", imageID: "", ready: true, restartCount: 0, ...containerStatus },
      ],
      ...extra,
    },
  });
  const cases: [string, V1Pod | undefined, string, number?][] = [
    ["running", pod({ state: { running: { startedAt: "2026-01-01T00:00:01Z" } } }), "running"],
    [
      "waiting → backoff",
      pod({
        ready: false,
        restartCount: 4,
        state: { waiting: { reason: "CrashLoopBackOff" } },
        lastState: { terminated: { exitCode: 2, finishedAt: "2026-01-01T00:01:00Z" } },
      }),
      "backoff",
      2,
    ],
    ["terminated 0 → stopped", pod({ state: { terminated: { exitCode: 0 } } }), "stopped", 0],
    ["terminated 1 → failed", pod({ state: { terminated: { exitCode: 1 } } }), "failed", 1],
    ["pod Succeeded → stopped", pod({ state: {} }, "Succeeded"), "stopped"],
    ["pod Failed → failed", pod({ state: {} }, "Failed"), "failed"],
    ["pod Unknown → unknown", pod({ state: {} }, "Unknown"), "unknown"],
    ["no pod → unknown", undefined, "unknown"],
  ];
  for (const [name, p, expected, exitCode] of cases) {
    it(name, () => {
      const status = moduleRuntimeStatus(module, "1.0", undefined, p ? [p] : []);
      assert.equal(status.runtimeStatus, expected);
      if (exitCode !== undefined) assert.equal(status.exitCode, exitCode);
    });
  }
  it("failed, with the cluster's reason, when the ReplicaSet cannot create pods; unknown while it just has none", () => {
    const message = 'pods "x" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes';
    const refused = moduleRuntimeStatus(
      module,
      "1.0",
      { status: { conditions: [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message }] } },
      [],
    );
    assert.equal(refused.runtimeStatus, "failed");
    assert.equal(refused.statusDescription, `pods cannot be created: ${message}`);
    const waiting = moduleRuntimeStatus(module, "1.0", { status: { conditions: [] } }, []);
    assert.deepEqual([waiting.runtimeStatus, waiting.statusDescription], ["unknown", "no pod yet"]);
  });

  it("a pod kubelet cannot prepare: backoff with its latest Warning event (FailedMount), found by pod uid", () => {
    const creating = pod({ ready: false, state: { waiting: { reason: "ContainerCreating" } } }, "Pending");
    creating.metadata = { name: "p", uid: "pod-1", creationTimestamp: "2026-01-01T00:00:00Z" as unknown as Date };
    const mount = {
      reason: "FailedMount",
      message: 'MountVolume.SetUp failed for volume "edgek8s-trust" : secret "edgehub-ca" not found',
    };
    assert.ok(isStartingUp(creating));
    const status = moduleRuntimeStatus(module, "1.0", undefined, [creating], new Map([["pod-1", mount]]));
    assert.deepEqual([status.runtimeStatus, status.statusDescription], ["backoff", `FailedMount: ${mount.message}`]);
    const without = moduleRuntimeStatus(module, "1.0", undefined, [creating]);
    assert.deepEqual([without.runtimeStatus, without.statusDescription], ["backoff", "ContainerCreating"]);
    const running = pod({ state: { running: {} } });
    running.metadata = { name: "p", uid: "pod-1" };
    assert.ok(!isStartingUp(running));
    assert.equal(
      moduleRuntimeStatus(module, "1.0", undefined, [running], new Map([["pod-1", mount]])).statusDescription,
      "running",
      "an old warning does not describe a pod that runs",
    );
  });

  it("a time the API server gives as null is no time (a reconcile must not fail on it)", () => {
    const crashed = pod({
      ready: false,
      restartCount: 1,
      state: { waiting: { reason: "CrashLoopBackOff" } },
      lastState: { terminated: { exitCode: 1, startedAt: null, finishedAt: "2026-01-01T00:01:00Z" } },
    });
    const status = moduleRuntimeStatus(module, "1.0", undefined, [crashed]);
    assert.deepEqual(
      [status.runtimeStatus, status.lastStartTimeUtc, status.lastExitTimeUtc],
      ["backoff", undefined, "2026-01-01T00:01:00Z"],
    );
  });

  it("restartCount, times and unhealthy (not ready with a liveness probe)", () => {
    const restarted = moduleRuntimeStatus(module, "1.0", undefined, [
      pod({
        restartCount: 2,
        state: { running: { startedAt: "2026-01-01T00:05:00Z" } },
        lastState: {
          terminated: { exitCode: 137, startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:04:59Z" },
        },
      }),
    ]);
    assert.deepEqual(
      { ...restarted },
      {
        name: "sensor",
        runtimeStatus: "running",
        statusDescription: "running",
        version: "1.0",
        restartCount: 2,
        exitCode: 137,
        lastStartTimeUtc: "2026-01-01T00:05:00Z",
        lastExitTimeUtc: "2026-01-01T00:04:59Z",
        lastRestartTimeUtc: "2026-01-01T00:05:00Z",
      },
    );
    const probed: V1Deployment = {
      spec: {
        selector: {},
        template: {
          spec: { containers: [{ name: "sensor", image: "x", livenessProbe: { exec: { command: ["true"] } } }] },
        },
      },
    };
    assert.equal(
      moduleRuntimeStatus(module, undefined, probed, [pod({ ready: false, state: { running: {} } })]).runtimeStatus,
      "unhealthy",
    );
    assert.equal(
      moduleRuntimeStatus({ ...module, status: "stopped" }, undefined, undefined, []).runtimeStatus,
      "stopped",
    );
  });
});

describe("EdgeDeployment status", () => {
  it("keeps a condition's transition time while its status holds, and moves it when it flips", () => {
    const first = nextConditions(undefined, [{ type: "Ready", status: false, reason: "R", message: "" }], 1, "t1");
    const same = nextConditions(first, [{ type: "Ready", status: false, reason: "R2", message: "m" }], 2, "t2");
    const flipped = nextConditions(same, [{ type: "Ready", status: true, reason: "R3", message: "" }], 3, "t3");
    assert.deepEqual(
      [first[0]?.lastTransitionTime, same[0]?.lastTransitionTime, flipped[0]?.lastTransitionTime],
      ["t1", "t1", "t3"],
    );
    assert.equal(flipped[0]?.observedGeneration, 3);
  });

  it("invalid manifest → Degraded/InvalidManifest, code 412 for an unknown schema version, previous modules kept", () => {
    const previous = {
      modules: { a: { name: "a", runtimeStatus: "running" as const, restartCount: 0 } },
      modulesReady: "1/1",
    };
    const status = edgeDeploymentStatus({
      generation: 4,
      desiredVersion: 9,
      previous,
      now: "t",
      outcome: {
        kind: "invalid",
        issues: [{ path: "spec.edgeAgent.schemaVersion", message: "unknown", kind: "unknownSchemaVersion" }],
        warnings: [],
      },
    });
    assert.equal(status.lastDesiredStatus?.code, 412);
    assert.deepEqual(status.modules, previous.modules);
    assert.equal(status.conditions?.find((c) => c.type === "Degraded")?.reason, "InvalidManifest");
    assert.equal(status.observedGeneration, 4);
    assert.equal(status.desiredVersion, 9);
  });

  it("Degraded/StartupOrderBlocked when a module others wait for cannot be scheduled, with the scheduler's reason", () => {
    const modules = [
      { id: "beta", k8sName: "beta", startupOrder: 1, status: "running" as const },
      { id: "alpha", k8sName: "alpha", startupOrder: 2, status: "running" as const },
    ];
    const unschedulable: V1Pod = {
      metadata: { name: "beta-1", creationTimestamp: "2026-01-01T00:00:00Z" as unknown as Date },
      spec: { containers: [{ name: "beta", image: "x" }] },
      status: {
        phase: "Pending",
        conditions: [
          {
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message: '0/2 nodes are available: persistentvolumeclaim "shared" not found.',
          },
        ],
      },
    };
    const status = edgeDeploymentStatus({
      generation: 1,
      desiredVersion: undefined,
      previous: undefined,
      now: "t",
      outcome: {
        kind: "applied",
        modules: modules.map((m) => ({ ...m, version: "1.0" })),
        warnings: [],
        deployments: new Map([["beta", deploymentOf("beta", 0)]]),
        expectedHashes: new Map(),
        pods: new Map([["beta", [unschedulable]]]),
        waitingFor: ["alpha"],
        applyError: undefined,
      },
    });
    const degraded = status.conditions?.find((c) => c.type === "Degraded");
    assert.equal(degraded?.status, "True");
    assert.equal(degraded?.reason, "StartupOrderBlocked");
    assert.match(degraded?.message ?? "", /alpha cannot start before: beta \(startupOrder 1\).*"shared" not found/);
  });
});

describe("status heartbeat (local stacks)", () => {
  const status = { observedGeneration: 1 };
  const now = new Date("2026-11-30T10:00:10.000Z");
  it("keeps the previous heartbeat while younger than half the interval, so a quiet pass writes nothing", () => {
    assert.deepEqual(withHeartbeat(status, "2026-11-30T10:00:08.000Z", now, 5000), {
      ...status,
      heartbeat: "2026-11-30T10:00:08.000Z",
    });
  });
  it("moves it to now once half the interval has passed, or when there was none", () => {
    assert.equal(withHeartbeat(status, "2026-11-30T10:00:07.000Z", now, 5000).heartbeat, now.toISOString());
    assert.equal(withHeartbeat(status, undefined, now, 5000).heartbeat, now.toISOString());
  });
  it("adds none without an interval (hub mode reports its heartbeat to IoT Hub)", () => {
    assert.deepEqual(withHeartbeat(status, undefined, now, undefined), status);
  });
});
