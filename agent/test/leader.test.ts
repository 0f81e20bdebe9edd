import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { writesOutsideTerms } from "../../scripts/soak/terms.ts";
import type { AuditEntry } from "../../scripts/cluster/audit.ts";
import { defaultIdentity } from "../src/cli/agent.ts";
import { cli } from "./fixtures/cli.ts";
import type { KubeClient } from "../src/kube/client.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { LeaderElector, canAcquire, electionTimings } from "../src/runtime/leader.ts";
import { silentLogger } from "../src/runtime/log.ts";

/**
 * A Lease store in memory whose calls can be held back, as a hanging API server holds them: while
 * `hang` is on, each call waits in `held` until the test lets it through (in any order).
 */
class HangingLeaseStore {
  private lease: KubeObject | undefined;
  private version = 0;
  hang = false;
  readonly held: (() => void)[] = [];

  private async gate(): Promise<void> {
    if (this.hang) await new Promise<void>((resolve) => this.held.push(resolve));
  }

  private store(object: KubeObject): KubeObject {
    this.lease = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.version) } };
    return structuredClone(this.lease);
  }

  readonly client = {
    with: () => this.client,
    get: async () => {
      await this.gate();
      return this.lease && structuredClone(this.lease);
    },
    create: async (object: KubeObject) => {
      await this.gate();
      return this.store(object);
    },
    replace: async (object: KubeObject) => {
      await this.gate();
      return this.store(object);
    },
  } as unknown as KubeClient;
}

describe("leader election", () => {
  it("takes a lease that is free or its own at once, another's only after it stayed unchanged a whole lease", () => {
    const held = { holderIdentity: "b", leaseDurationSeconds: 15 };
    assert.equal(canAcquire(undefined, "a", 0, 0, 15_000), true);
    assert.equal(canAcquire({ holderIdentity: null }, "a", 0, 0, 15_000), true);
    assert.equal(canAcquire({ holderIdentity: "a" }, "a", 0, 0, 15_000), true);
    assert.equal(canAcquire(held, "a", 1000, 16_000, 15_000), false);
    assert.equal(canAcquire(held, "a", 1000, 16_001, 15_000), true);
    // The holder's longer declared duration wins over this replica's shorter one.
    assert.equal(canAcquire({ holderIdentity: "b", leaseDurationSeconds: 30 }, "a", 0, 20_000, 15_000), false);
  });

  it("times: client-go's proportions by default, a renew deadline shorter than the lease or an error", () => {
    assert.deepEqual(electionTimings(15), { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 });
    assert.deepEqual(electionTimings(5, 4), { leaseDurationMs: 5000, renewDeadlineMs: 4000, retryPeriodMs: 667 });
    assert.throws(() => electionTimings(5, 5), /must be shorter than the lease duration/);
  });

  it("identity: POD_NAME when the chart sets it, else the host name and a random suffix", () => {
    assert.equal(defaultIdentity({ POD_NAME: "edgek8s-agent-5d8-x" }, "node-1", "abc123"), "edgek8s-agent-5d8-x");
    assert.equal(defaultIdentity({}, "node-1", "abc123"), "node-1-abc123");
    assert.notEqual(defaultIdentity({}, "node-1"), defaultIdentity({}, "node-1"));
  });

  it("a renewal that hangs past the deadline and answers after the next term began does not end that term", async () => {
    const store = new HangingLeaseStore();
    const elector = new LeaderElector(
      store.client,
      {
        namespace: "sys",
        name: "agent",
        identity: "a",
        leaseDurationMs: 600,
        renewDeadlineMs: 400,
        retryPeriodMs: 100,
      },
      silentLogger,
    );
    const election = new AbortController();
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      const first = await elector.acquire(election.signal);
      assert.ok(first && elector.isLeader);
      store.hang = true;
      await new Promise((resolve) => {
        first.addEventListener("abort", resolve);
      });
      assert.equal(elector.isLeader, false, "stands by once the renew deadline passed");
      // The renewal of the first term is still held; the replica competes again.
      const competing = elector.acquire(election.signal);
      while (store.held.length < 2) await pause(10);
      store.hang = false;
      // The server answers the new attempt first, then the old term's renewal.
      for (const release of store.held.splice(0).reverse()) {
        release();
        await pause(20);
      }
      const second = await competing;
      await pause(50);
      assert.ok(second && !second.aborted, "the second term goes on");
      assert.equal(elector.isLeader, true, "the second term's leader may write");
    } finally {
      election.abort();
      store.hang = false;
      for (const release of store.held.splice(0)) release();
      await pause(150);
    }
  });

  it("--renew-deadline not shorter than the lease is a usage error naming the flag", async () => {
    const result = await cli("agent", "-n", "x", "--leader-elect", "--lease-duration", "5", "--renew-deadline", "5");
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--renew-deadline: the renew deadline \(5 s\) must be shorter than the lease duration/);
  });
});

describe("writes outside a lease term (from the audit log)", () => {
  const lease = { namespace: "sys", name: "agent", durationMs: 5000 };
  const entry = (time: number, user: string, resource: string, name = "x", code = 200): AuditEntry => ({
    time,
    user,
    verb: "update",
    resource,
    namespace: resource === "leases" ? "sys" : "ns",
    name: resource === "leases" ? "agent" : name,
    subresource: undefined,
    code,
    dryRun: false,
  });

  it("a write counts inside the writer's term: after its lease write, within a lease duration, before a takeover", () => {
    const log = [
      entry(0, "a", "leases"),
      entry(100, "a", "deployments"),
      entry(4000, "a", "leases"),
      entry(8500, "a", "deployments"), // renewed at 4000: fine until 9000
      entry(9500, "a", "deployments"), // expired at 9000
      entry(9600, "b", "leases", "agent", 409), // a failed takeover changes nothing
      entry(15000, "b", "leases"),
      entry(15001, "b", "deployments"),
      entry(15002, "a", "events"), // b took over
      entry(3000, "c", "deployments"), // not one of the replicas
    ];
    assert.deepEqual(
      writesOutsideTerms(log, lease, ["a", "b"]).map((v) => [v.entry.time, v.entry.user]),
      [
        [9500, "a"],
        [15002, "a"],
      ],
    );
  });
});
