import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { manifest, userModule } from "./fixtures/manifests.ts";
import { render } from "./fixtures/render.ts";
import { KubeError } from "../src/kube/client.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { APPLIED_HASH } from "../src/reconcile/drift.ts";
import { planPass } from "../src/reconcile/plan.ts";
import { objectsToProve, preflight, refusalIssues } from "../src/reconcile/preflight.ts";

const deployment = (name: string, module = name): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: "ns", labels: { "edgek8s.io/module": module } },
});

/** Answers each dry run as the API server would for that object name. */
function server(answers: Record<string, KubeError | undefined>) {
  const calls: string[] = [];
  return {
    calls,
    dryRunApply: (object: KubeObject, fieldManager: string) => {
      calls.push(`${object.metadata?.name ?? ""}:${fieldManager}`);
      const answer = answers[object.metadata?.name ?? ""];
      return answer ? Promise.reject(answer) : Promise.resolve({});
    },
  };
}

describe("preflight: the API server's dry run before any write", () => {
  it("dry-runs every object as the field manager and returns the server's refusals (400, 422) in its own words", async () => {
    const invalid = new KubeError(
      422,
      "Invalid",
      'PATCH /apis/apps/v1/namespaces/ns/deployments/b?dryRun=All: 422 Deployment.apps "b" is invalid: spec.template.spec.nodeSelector: Invalid value',
    );
    const fake = server({ b: invalid });
    const refusals = await preflight(fake, [deployment("a"), deployment("b")], "edgek8s-agent", 4);
    assert.deepEqual(fake.calls.sort(), ["a:edgek8s-agent", "b:edgek8s-agent"]);
    assert.deepEqual(refusals, [
      {
        object: "Deployment/b",
        module: "b",
        message: 'Deployment.apps "b" is invalid: spec.template.spec.nodeSelector: Invalid value',
      },
    ]);
    assert.deepEqual(refusalIssues(refusals, new Map([["b", "spec.edgeAgent.modules.B"]])), [
      {
        path: "spec.edgeAgent.modules.B",
        message:
          'the API server refuses Deployment/b: Deployment.apps "b" is invalid: spec.template.spec.nodeSelector: Invalid value',
        kind: "invalid",
      },
    ]);
  });

  it("throws what is not the manifest's fault (forbidden, conflict, unreachable), so the pass is retried, not judged", async () => {
    await assert.rejects(
      preflight(server({ a: new KubeError(403, "Forbidden", "forbidden") }), [deployment("a")], "m", 4),
      /forbidden/,
    );
    await assert.rejects(preflight(server({ a: new KubeError(500, "", "boom") }), [deployment("a")], "m", 4), /boom/);
  });

  it("proves what the pass applies now and what waits for a lower startupOrder, with the applied hash", () => {
    const translation = render(
      manifest({
        edgeHubExtra: { startupOrder: 0 },
        modules: { late: userModule("a/late:1", {}, { startupOrder: 5 }) },
      }),
    );
    const plan = planPass(translation, { owned: [], get: () => undefined }, "uid");
    assert.deepEqual(plan.waitingFor, ["late"]);
    const proved = objectsToProve(plan, translation);
    assert.deepEqual(
      proved.map((o) => `${o.kind ?? ""}/${o.metadata?.name ?? ""}`).sort(),
      translation.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
    );
    assert.ok(proved.every((o) => o.metadata?.annotations?.[APPLIED_HASH] !== undefined));
  });
});
