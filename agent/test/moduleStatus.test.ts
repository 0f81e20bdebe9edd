import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1ContainerStatus, V1Pod, V1PodStatus } from "@kubernetes/client-node";
import { moduleRuntimeStatus } from "../src/status/moduleStatus.ts";

const module = { id: "sensor", k8sName: "sensor", startupOrder: 1, status: "running" as const };

function pod(status: V1PodStatus, container?: Partial<V1ContainerStatus>): V1Pod {
  const containerStatuses: V1ContainerStatus[] = container
    ? [Object.assign({ name: "sensor", image: "x", imageID: "", ready: false, restartCount: 1 }, container)]
    : [];
  return {
    metadata: { name: "p", creationTimestamp: "2026-01-01T00:00:00Z" as unknown as Date },
    spec: { containers: [{ name: "sensor", image: "x" }] },
    status: Object.assign({}, status, containerStatuses.length > 0 ? { containerStatuses } : {}),
  };
}

const describeStatus = (p: V1Pod) => {
  const status = moduleRuntimeStatus(module, "1.0", undefined, [p]);
  return [status.runtimeStatus, status.statusDescription];
};

describe("module status keeps the kubelet's reason and message", () => {
  it("a container killed for memory: failed, exited with code 137 (OOMKilled)", () => {
    assert.deepEqual(
      describeStatus(pod({ phase: "Running" }, { state: { terminated: { exitCode: 137, reason: "OOMKilled" } } })),
      ["failed", "exited with code 137 (OOMKilled)"],
    );
  });

  it("a crash loop after an OOM kill says both: the back-off and the last exit", () => {
    const [status, description] = describeStatus(
      pod(
        { phase: "Running" },
        {
          state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 20s restarting failed container" } },
          lastState: { terminated: { exitCode: 137, reason: "OOMKilled" } },
        },
      ),
    );
    assert.equal(status, "backoff");
    assert.equal(
      description,
      "CrashLoopBackOff: back-off 20s restarting failed container; last run exited with code 137 (OOMKilled)",
    );
  });

  it("a Failed pod keeps its reason and message (an eviction)", () => {
    assert.deepEqual(
      describeStatus(pod({ phase: "Failed", reason: "Evicted", message: "The node was low on resource: memory." })),
      ["failed", "Evicted: The node was low on resource: memory."],
    );
    assert.deepEqual(describeStatus(pod({ phase: "Failed" })), ["failed", "pod failed"]);
  });

  it("an unschedulable pod says why the scheduler cannot place it", () => {
    assert.deepEqual(
      describeStatus(
        pod({
          phase: "Pending",
          conditions: [
            {
              type: "PodScheduled",
              status: "False",
              reason: "Unschedulable",
              message: "0/2 nodes are available: 2 Insufficient memory.",
            },
          ],
        }),
      ),
      ["unknown", "pod Pending: Unschedulable: 0/2 nodes are available: 2 Insufficient memory."],
    );
  });

  it("a plain non-zero exit keeps the termination message the container wrote", () => {
    assert.deepEqual(
      describeStatus(
        pod(
          { phase: "Running" },
          { state: { terminated: { exitCode: 2, reason: "Error", message: "config.json missing" } } },
        ),
      ),
      ["failed", "exited with code 2 (Error: config.json missing)"],
    );
    assert.deepEqual(
      describeStatus(pod({ phase: "Running" }, { state: { terminated: { exitCode: 1, reason: "Error" } } })),
      ["failed", "exited with code 1"],
    );
  });
});
