// Tracks, rings and IoT Hub's limits at preview: the stack's inputs are refused with every problem,
// each naming its key, before any resource is declared.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadStackInputs } from "../inputs.ts";
import { ROOT } from "./fixtures.ts";
import { BAD_STACKS, issuesOf, read, trackStack, tracks } from "./trackFixtures.ts";

describe("tracks and IoT Hub's limits at preview", () => {
  it("accepts a base track, a layer and a ring plan, with each track's content and the plan", () => {
    const loaded = loadStackInputs(trackStack(), ROOT, read, {}, "edgek8s.prod");
    assert.ok(loaded.ok, loaded.ok ? "" : JSON.stringify(loaded.issues));
    assert.deepEqual([...loaded.inputs.tracks.keys()], ["factory", "vision"]);
    assert.ok(loaded.inputs.tracks.get("vision")?.["$edgeAgent"]?.["properties.desired.modules.vision"]);
    assert.deepEqual(
      loaded.inputs.plan.rings.map((r) => r.name),
      ["canary", "early", "all"],
    );
    assert.deepEqual(loaded.inputs.warnings, []);
    assert.equal(loaded.inputs.config.tracks["factory"]?.layer, false);
  });

  for (const [name, change, expected] of BAD_STACKS) {
    it(`refuses ${name}, naming the key`, () => {
      const found = issuesOf(trackStack(change));
      for (const pattern of expected)
        assert.ok(
          found.some((p) => pattern.test(p)),
          `expected ${String(pattern)}, got:\n${found.join("\n")}`,
        );
    });
  }

  it("lists every problem at once, config and limits alike", () => {
    const found = issuesOf(
      trackStack((v) => {
        for (const [, change] of BAD_STACKS) change(v);
        (v["devices"] as Record<string, Record<string, unknown>>)["line2-gw"]!["cluster"] = "nowhere";
      }),
    );
    assert.ok(found.length >= 8, found.join("\n"));
    assert.ok(found.some((p) => p.startsWith("edgek8s:devices.line2-gw.cluster: unknown cluster")));
    assert.ok(found.some((p) => p.startsWith("edgek8s:rollout.pollInterval")));
  });

  it("warns, without refusing, when ring 0 reaches none of the stack's devices", () => {
    const loaded = loadStackInputs(
      trackStack((v) => {
        const rings = (v["rollout"] as { rings: Record<string, unknown>[] }).rings;
        rings[0]!["select"] = "tags.ring='nobody'";
      }),
      ROOT,
      read,
      {},
      "edgek8s.prod",
    );
    assert.ok(loaded.ok);
    assert.deepEqual(
      loaded.inputs.warnings.map((w) => w.key),
      ["edgek8s:rollout.rings[0]"],
    );
  });

  it("reports a track manifest that is missing, not JSON, or has no $edgeAgent", () => {
    const found = issuesOf(
      trackStack((v) => {
        tracks(v)["factory"]!["manifest"] = "deployments/nope.json";
        tracks(v)["vision"]!["manifest"] = "README.md";
      }),
    );
    assert.ok(found.some((p) => /^edgek8s:tracks\.factory\.manifest: deployments\/nope\.json does not exist/.test(p)));
    assert.ok(found.some((p) => /^edgek8s:tracks\.vision\.manifest: README\.md is not JSON/.test(p)));
  });
});
