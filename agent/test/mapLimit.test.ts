import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mapLimit } from "../src/runtime/mapLimit.ts";

/** A call that stays in flight until the test lets it finish. */
function held<T>() {
  let finish: (value: T) => void = () => undefined;
  let fail: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { promise, finish, fail };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("mapLimit: bounded concurrency shared by the reconciler, the preflight, the release engine and the rollout", () => {
  it("keeps at most `limit` calls in flight and gives the results in input order", async () => {
    const calls = [3, 1, 2, 0].map(() => held<string>());
    let inFlight = 0;
    let most = 0;
    const run = mapLimit([0, 1, 2, 3], 2, async (i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      try {
        return await calls[i]!.promise;
      } finally {
        inFlight--;
      }
    });
    await tick();
    assert.equal(inFlight, 2);
    // The second call finishes first: its worker takes the third item.
    calls[1]!.finish("b");
    await tick();
    calls[0]!.finish("a");
    calls[2]!.finish("c");
    await tick();
    calls[3]!.finish("d");
    assert.deepEqual(await run, ["a", "b", "c", "d"]);
    assert.equal(most, 2);
  });

  it("starts nothing after a failure, waits for the calls in flight, then throws the first failure", async () => {
    const calls = [0, 1, 2, 3].map(() => held<number>());
    const started: number[] = [];
    let settled = false;
    const run = mapLimit([0, 1, 2, 3], 2, (i) => {
      started.push(i);
      return calls[i]!.promise;
    }).finally(() => {
      settled = true;
    });
    await tick();
    calls[0]!.fail(new Error("first"));
    await tick();
    assert.equal(settled, false, "the call in flight is waited for");
    calls[1]!.fail(new Error("second"));
    await assert.rejects(run, /^Error: first$/);
    assert.deepEqual(started, [0, 1], "no item started after the failure");
  });

  it("an empty list is no call", async () => {
    assert.deepEqual(await mapLimit([], 4, () => Promise.reject(new Error("called"))), []);
  });
});
