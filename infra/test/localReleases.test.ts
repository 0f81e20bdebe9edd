import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { releaseId } from "@edgek8s/agent";
import { type LiveEdgeRelease, planLocalTrack } from "../localReleases.ts";
import { type TrackSpec, planTrack } from "../providers/edgeTrackPlan.ts";

const content = (v: number) => ({ $edgeAgent: { "properties.desired.modules.m": { v } } });
const spec = (v: number, change: Partial<TrackSpec> = {}): TrackSpec => ({
  stackId: "edgek8s.local",
  track: "gateway",
  layer: false,
  trackIndex: 0,
  target: "tags.class='gateway'",
  stagedTarget: "",
  modulesContent: content(v),
  metrics: {},
  retain: 1,
  ...change,
});

/** An EdgeRelease as Pulumi made it (no rollout label) or as the rollout left it. */
function live(v: number, seq: number, targetCondition: string, rollout: Record<string, string> = {}): LiveEdgeRelease {
  const id = releaseId("gateway", content(v));
  return {
    id,
    labels: {
      "edgek8s.managed": "true",
      "edgek8s.stack": "edgek8s.local",
      "edgek8s.track": "gateway",
      "edgek8s.hash": id.slice(-12),
      "edgek8s.seq": String(seq),
      ...rollout,
    },
    targetCondition,
    priority: seq,
    metrics: {},
    modulesContent: content(v),
  };
}

const planned = (s: TrackSpec, l: LiveEdgeRelease[]) => {
  const result = planLocalTrack(s, l);
  if (!result.ok) assert.fail(result.problem);
  return result.plan;
};
const specOf = (plan: ReturnType<typeof planned>, id: string) =>
  plan.releases.find((r) => r.id === id)?.object["spec"] as { targetCondition: string; priority: number } | undefined;

describe("local releases: planTrack's plan as EdgeRelease objects", () => {
  it("reads a release Pulumi made without a state label as IoT Hub would: Stable when it targets devices", () => {
    const plan = planned(spec(2), [live(1, 1, "tags.class='gateway'")]);
    assert.equal(plan.stableId, releaseId("gateway", content(1)));
    assert.equal(plan.candidateId, releaseId("gateway", content(2)));
    assert.deepEqual(specOf(plan, plan.candidateId), {
      track: "gateway",
      layer: false,
      priority: 2,
      targetCondition: "",
      modulesContent: content(2),
      labels: {
        "edgek8s.managed": "true",
        "edgek8s.stack": "edgek8s.local",
        "edgek8s.track": "gateway",
        "edgek8s.hash": plan.candidateId.slice(-12),
        "edgek8s.seq": "2",
      },
    });
  });

  it("declares a candidate's target as the rollout left it, and leaves it to the rollout", () => {
    const candidate = live(2, 2, "deviceId='line3-gw'", { "edgek8s.state": "Applying", "edgek8s.ring": "canary" });
    const plan = planned(spec(2), [live(1, 1, "tags.class='gateway'"), candidate]);
    const declared = plan.releases.find((r) => r.id === candidate.id);
    assert.equal(declared?.setsTarget, false);
    assert.equal(specOf(plan, candidate.id)?.targetCondition, "deviceId='line3-gw'");
    const labels = (declared?.object["spec"] as { labels: Record<string, string> }).labels;
    assert.equal(labels["edgek8s.state"], undefined);
    assert.equal(labels["edgek8s.ring"], undefined);
  });

  it("plans around a state label edgek8s does not know: kept as written, never refused (a newer driver's state)", () => {
    const odd = live(2, 2, "deviceId='line3-gw'", { "edgek8s.state": "Frozen" });
    const plan = planTrack(spec(2), [live(1, 1, "tags.class='gateway'"), odd]);
    assert.equal(plan.releases.find((r) => r.id === odd.id)?.state, "Frozen");
    assert.equal(plan.candidateId, odd.id);
    assert.equal(plan.stableId, releaseId("gateway", content(1)));
  });

  it("moves the Stable release's target when the track's changed", () => {
    const plan = planned(spec(1, { target: "tags.class='gateway' AND tags.site='west'" }), [
      live(1, 1, "tags.class='gateway'"),
    ]);
    assert.equal(plan.releases[0]?.setsTarget, true);
    assert.equal(specOf(plan, plan.stableId)?.targetCondition, "tags.class='gateway' AND tags.site='west'");
  });

  it("refuses an EdgeRelease with this content's name that is another stack's, naming it", () => {
    const foreign = { ...live(1, 1, ""), labels: { "edgek8s.stack": "other.local", "edgek8s.track": "gateway" } };
    const result = planLocalTrack(spec(1), [foreign]);
    assert.ok(!result.ok);
    assert.match(
      result.problem,
      /^EdgeRelease ek8s-gateway-\w{12} already exists in the cluster and is not this track's \(labels edgek8s\.stack=other\.local/,
    );
  });
});
