import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CoreV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { type ControlPlane, startControlPlane } from "./controlPlane.ts";

/** The HTTP status of a failed client call (client-node 1.x throws ApiException with `code`). */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

describe("minimal control plane (etcd + kube-apiserver)", () => {
  let plane: ControlPlane;
  before(async () => {
    plane = await startControlPlane({ auditLog: true });
  });
  after(async () => {
    await plane.stop();
  });

  it("gives an admin client", async () => {
    const core = plane.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: "team-a" } } });
    await core.createNamespace({ body: { metadata: { name: "team-b" } } });
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    assert.ok(names.includes("team-a") && names.includes("team-b"));
  });

  it("gives a ServiceAccount client with a real token, subject to RBAC", async () => {
    const admin = plane.kubeConfig();
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: "team-a", body: { metadata: { name: "agent" } } });
    const { kubeConfig } = await plane.serviceAccountKubeConfig("team-a", "agent");
    const asAgent = kubeConfig.makeApiClient(CoreV1Api);
    assert.equal(await statusOf(asAgent.listNamespacedConfigMap({ namespace: "team-a" })), 403, "no role yet");

    await rbac.createNamespacedRole({
      namespace: "team-a",
      body: {
        metadata: { name: "configmaps" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "create"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: "team-a",
      body: {
        metadata: { name: "agent-configmaps" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmaps" },
        subjects: [{ kind: "ServiceAccount", name: "agent", namespace: "team-a" }],
      },
    });
    assert.equal(
      await statusOf(asAgent.listNamespacedConfigMap({ namespace: "team-a" })),
      200,
      "allowed in its namespace",
    );
    assert.equal(await statusOf(asAgent.listNamespacedConfigMap({ namespace: "team-b" })), 403, "refused in another");
    assert.equal(
      await statusOf(asAgent.listNamespacedSecret({ namespace: "team-a" })),
      403,
      "refused another resource",
    );
  });

  it("records writes in the audit log, by user", async () => {
    const core = plane.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: "team-b",
      body: { metadata: { name: "audited" }, data: { a: "1" } },
    });
    const writes = plane.writes().filter((w) => w.resource === "configmaps" && w.name === "audited");
    assert.deepEqual(
      writes.map((w) => [w.verb, w.user, w.namespace, w.code]),
      [["create", "edgek8s-admin", "team-b", 201]],
    );
    // A server-side dry run stores nothing; a later call still holds the earlier writes, once each.
    await core.createNamespacedConfigMap({ namespace: "team-b", dryRun: "All", body: { metadata: { name: "dry" } } });
    const later = plane.writes().filter((w) => w.resource === "configmaps");
    assert.deepEqual(
      later.filter((w) => w.name === "audited" || w.name === "dry").map((w) => w.name),
      ["audited"],
    );
  });

  it("stops and restarts the API server, keeping the data in etcd", async () => {
    await plane.stopApiServer();
    const core = plane.kubeConfig().makeApiClient(CoreV1Api);
    assert.notEqual(await statusOf(core.listNamespace()), 200);
    await plane.startApiServer();
    const cm = await core.readNamespacedConfigMap({ namespace: "team-b", name: "audited" });
    assert.deepEqual(cm.data, { a: "1" });
  });
});
