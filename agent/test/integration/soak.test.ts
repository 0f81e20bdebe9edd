import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatReport } from "../../../scripts/soak/report.ts";
import { runSoak } from "../../../scripts/soak/soak.ts";

// The bounded soak of the integration tier (issue 16): the same run as `npm run soak`, shorter and
// with a fixed seed, so every change meets two replicas under random faults before it merges.
describe("soak (bounded): two agent replicas under random faults", () => {
  it("keeps every invariant", { timeout: 12 * 60_000 }, async (t) => {
    const result = await runSoak({
      minutes: 3,
      seed: 1616,
      devices: 10,
      progress: (line) => {
        t.diagnostic(line);
      },
    });
    const report = formatReport(result);
    t.diagnostic(report);
    assert.ok(result.faults.length > 0, "no fault was injected");
    assert.deepEqual(
      result.violations.map((v) => `${v.invariant}: ${v.detail}`),
      [],
      report,
    );
  });
});
