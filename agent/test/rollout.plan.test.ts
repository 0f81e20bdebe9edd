import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { targetConditionProblem, parseCondition } from "../src/releases/condition.ts";
import { matches } from "../src/releases/evaluate.ts";
import { deviceBucket } from "../src/releases/naming.ts";
import { DEFAULT_PLAN, parseDuration, parseRolloutPlan, ringConditions } from "../src/rollout/plan.ts";

const example = {
  rings: [
    { name: "canary", select: "tags.ring='canary'", bake: "15m", gate: "auto", maxFailures: 0 },
    { name: "early", percent: 10, bake: "30m" },
    { name: "broad", percent: 50, bake: "30m", gate: "manual" },
    { name: "all", percent: 100 },
  ],
  gates: { applyTimeout: "10m", reportTimeout: "15m", successPercent: 100, maxFailurePercent: 5, minExecuted: 3 },
  onFailure: "rollback",
  pollInterval: "30s",
};

describe("rollout plan", () => {
  it("parses ROLLOUT.md's example", () => {
    const parsed = parseRolloutPlan(example);
    assert.equal(parsed.ok, true);
    if (!parsed.ok) return;
    assert.deepEqual(
      parsed.plan.rings.map((r) => [r.name, r.bakeMs, r.gate]),
      [
        ["canary", 900_000, "auto"],
        ["early", 1_800_000, "auto"],
        ["broad", 1_800_000, "manual"],
        ["all", 0, "auto"],
      ],
    );
    assert.equal(parsed.plan.gates.applyTimeoutMs, 600_000);
    assert.equal(parsed.plan.pollIntervalMs, 30_000);
  });

  it("defaults to one ring, the whole track", () => {
    assert.deepEqual(parseRolloutPlan(undefined), { ok: true, plan: DEFAULT_PLAN });
  });

  it("reports every problem with its key", () => {
    const parsed = parseRolloutPlan({
      rings: [
        { name: "Canary", select: 'tags.ring="canary"' },
        { name: "early", percent: 50, bake: "soon" },
        { name: "early", percent: 10, gate: "maybe" },
        { name: "last", percent: 90, extra: 1 },
      ],
      gates: { applyTimeout: "2m", successPercent: 0 },
      onFailure: "panic",
      pollInterval: "1s",
    });
    assert.equal(parsed.ok, false);
    if (parsed.ok) return;
    const lines = parsed.problems.map((p) => `${p.path}: ${p.message}`);
    const expectations = [
      /^edgek8s:rollout\.rings\[0\]\.name: expected 1–40/,
      /^edgek8s:rollout\.rings\[0\]\.select: IoT Edge target conditions take single-quoted strings only/,
      /^edgek8s:rollout\.rings\[1\]\.bake: expected a duration/,
      /^edgek8s:rollout\.rings\[2\]\.gate: expected one of auto, manual/,
      /^edgek8s:rollout\.rings\[3\]\.extra: unknown key/,
      /^edgek8s:rollout\.rings\[2\]\.name: "early" is used by an earlier ring/,
      /^edgek8s:rollout\.rings\[2\]\.percent: rings are cumulative: 10 must be above the earlier 50/,
      /^edgek8s:rollout\.rings\[3\]: the last ring must be `percent: 100`/,
      /^edgek8s:rollout\.gates\.successPercent: expected a number from 1 to 100/,
      /^edgek8s:rollout\.gates\.applyTimeout: must be at least 6m/,
      /^edgek8s:rollout\.onFailure: expected one of rollback, halt/,
      /^edgek8s:rollout\.pollInterval: must be at least 5s/,
    ];
    for (const expected of expectations)
      assert.equal(
        lines.some((l) => expected.test(l)),
        true,
        `${expected} in\n${lines.join("\n")}`,
      );
    assert.equal(lines.length, expectations.length, lines.join("\n"));
  });

  it("parses durations", () => {
    assert.equal(parseDuration("90s"), 90_000);
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("0"), 0);
    assert.equal(parseDuration("250ms"), 250);
    assert.equal(parseDuration("15"), undefined);
    assert.equal(parseDuration("1d"), undefined);
  });
});

describe("ring conditions", () => {
  const parsed = parseRolloutPlan(example);
  const rings = parsed.ok ? parsed.plan.rings : [];
  const conditions = ringConditions("tags.site = 'west'", rings);

  it("are the track target and the union of the rings so far; the last ring is the target alone", () => {
    assert.deepEqual(conditions, [
      "(tags.site = 'west') AND ((tags.ring='canary'))",
      "(tags.site = 'west') AND ((tags.ring='canary') OR tags.edgek8s.bucket < 10)",
      "(tags.site = 'west') AND ((tags.ring='canary') OR tags.edgek8s.bucket < 10 OR tags.edgek8s.bucket < 50)",
      "tags.site = 'west'",
    ]);
    for (const c of conditions) assert.equal(targetConditionProblem(c), undefined, c);
  });

  it("select cumulative, growing sets of a fleet", () => {
    const fleet = Array.from({ length: 400 }, (_, i) => ({
      deviceId: `dev-${i}`,
      tags: {
        site: i % 4 === 0 ? "east" : "west",
        ring: i % 50 === 1 ? "canary" : "none",
        edgek8s: { bucket: deviceBucket(`dev-${i}`) },
      },
    }));
    let previous = new Set<string>();
    const sizes: number[] = [];
    for (const condition of conditions) {
      const c = parseCondition(condition);
      assert.equal(c.ok, true);
      if (!c.ok) return;
      const selected = new Set(fleet.filter((d) => matches(c.expr, d)).map((d) => d.deviceId));
      for (const id of previous) assert.equal(selected.has(id), true, `${id} left the rollout at ${condition}`);
      for (const id of selected) assert.equal(fleet.find((d) => d.deviceId === id)!.tags.site, "west");
      sizes.push(selected.size);
      previous = selected;
    }
    assert.equal(sizes.at(-1), 300);
    assert.equal(
      sizes[0]! > 0 && sizes[0]! < sizes[1]! && sizes[1]! < sizes[2]! && sizes[2]! < sizes[3]!,
      true,
      sizes.join(","),
    );
  });
});

describe("target condition rules", () => {
  it("accepts what IoT Hub accepts and names the reason otherwise", () => {
    assert.equal(
      targetConditionProblem("tags.a = 'x' AND properties.reported.lastDesiredStatus.code = 200"),
      undefined,
    );
    assert.equal(targetConditionProblem("deviceId IN ['a', 'b'] AND capabilities.iotEdge = true"), undefined);
    assert.match(targetConditionProblem("properties.desired.x = 1")!, /may read only/);
    assert.match(targetConditionProblem("moduleId = 'x'")!, /may read only/);
    assert.match(targetConditionProblem("tags = 1")!, /may read only/);
    assert.match(targetConditionProblem('tags.a = "x"')!, /single-quoted/);
    assert.match(targetConditionProblem("tags.a = ")!, /at character 10/);
  });
});
