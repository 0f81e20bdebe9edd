import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { V1Deployment } from "@kubernetes/client-node";
import {
  type Cluster,
  agentClient,
  createNamespace,
  edgeDeployment,
  getObject,
  settle,
  startCluster,
  startController,
  waitFor,
} from "./harness.ts";
import type { EdgeDeploymentStatus } from "../../src/crd/edgeDeployment.ts";
import type { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { RESOURCES } from "../../src/kube/resources.ts";
import type { Controller } from "../../src/reconcile/controller.ts";
import { manifest, userModule } from "../fixtures/manifests.ts";

const NS = "msiot-test-hub-line7";
const DEVICE = "line7";

/** Two modules; `scanner`'s k8s-experimental content is what only the API server can judge. */
function line(sensorTag: string, scannerNodeSelector?: Record<string, string>) {
  return manifest({
    modules: {
      sensor: userModule(`contoso.azurecr.io/sensor:${sensorTag}`, { ExposedPorts: { "9090/tcp": {} } }),
      ...(scannerNodeSelector
        ? {
            scanner: userModule("contoso.azurecr.io/scanner:1.0", {
              HostConfig: { Binds: ["scans:/scans"] },
              "k8s-experimental": { nodeSelector: scannerNodeSelector },
            }),
          }
        : {}),
    },
  });
}

describe("all or nothing against a real API server", () => {
  let cluster: Cluster;
  let agent: KubeClient;
  let controller: Controller;
  const status = async () =>
    (await getObject<KubeObject & { status?: EdgeDeploymentStatus }>(cluster.admin, "EdgeDeployment", NS, DEVICE))
      ?.status;
  /** Every object in the device namespace the agent could have written, with its resourceVersion. */
  const snapshot = async () => {
    const entries: string[] = [];
    for (const kind of ["Deployment", "Service", "ServiceAccount", "PersistentVolumeClaim", "Secret"] as const) {
      const list = await cluster.admin.list(RESOURCES[kind], { namespace: NS });
      for (const o of list.items)
        entries.push(`${kind}/${o.metadata?.name ?? ""}@${o.metadata?.resourceVersion ?? ""}`);
    }
    return entries.sort();
  };

  before(async () => {
    cluster = await startCluster();
    await createNamespace(cluster, NS);
    agent = await agentClient(cluster, NS);
    controller = await startController(agent, [NS]);
  });
  after(async () => {
    await controller.stop();
    agent.close();
    cluster.admin.close();
    await cluster.plane.stop();
  });

  it("a manifest only the API server refuses: Degraded with its message per object, 400, no object touched", async () => {
    await cluster.admin.apply(edgeDeployment(NS, DEVICE, line("1.0")), "platform-team");
    await waitFor(
      "sensor deployed",
      async () => (await getObject(cluster.admin, "Deployment", NS, "sensor")) !== undefined,
      15_000,
    );
    await settle(controller, cluster.plane);
    const before = await snapshot();

    // Valid to `validate` (a nodeSelector is a map of strings), refused by the API server: a label
    // value may not contain spaces. The same change also moves sensor to a new image.
    await cluster.admin.apply(
      edgeDeployment(NS, DEVICE, line("2.0", { "plant.example/line": "line 7 west" })),
      "platform-team",
    );
    await waitFor(
      "Degraded",
      async () =>
        (await status())?.conditions?.some(
          (c) => c.type === "Degraded" && c.status === "True" && c.reason === "InvalidManifest",
        ) === true,
      15_000,
    );
    await settle(controller, cluster.plane);
    const s = await status();
    const message = s?.conditions?.find((c) => c.type === "Degraded")?.message ?? "";
    assert.match(
      message,
      /spec\.edgeAgent\.modules\.scanner: the API server refuses Deployment\/scanner: Deployment\.apps "scanner" is invalid: spec\.template\.spec\.nodeSelector: Invalid value: "line 7 west"/,
    );
    assert.equal(s?.lastDesiredStatus?.code, 400);
    assert.match(s?.lastDesiredStatus?.description ?? "", /the API server refuses Deployment\/scanner/);
    assert.deepEqual(await snapshot(), before, "no object created, changed or deleted");
    const sensor = await getObject<V1Deployment>(cluster.admin, "Deployment", NS, "sensor");
    assert.equal(sensor?.spec?.template.spec?.containers[0]?.image, "contoso.azurecr.io/sensor:1.0");
    assert.equal(await getObject(cluster.admin, "PersistentVolumeClaim", NS, "scans"), undefined);
  });

  it("the corrected manifest then applies as a whole", async () => {
    await cluster.admin.apply(
      edgeDeployment(NS, DEVICE, line("2.0", { "plant.example/line": "line-7-west" })),
      "platform-team",
    );
    await waitFor(
      "scanner deployed",
      async () => (await getObject(cluster.admin, "Deployment", NS, "scanner")) !== undefined,
      15_000,
    );
    await settle(controller, cluster.plane);
    const sensor = await getObject<V1Deployment>(cluster.admin, "Deployment", NS, "sensor");
    assert.equal(sensor?.spec?.template.spec?.containers[0]?.image, "contoso.azurecr.io/sensor:2.0");
    assert.ok(await getObject(cluster.admin, "PersistentVolumeClaim", NS, "scans"));
    const s = await status();
    assert.equal(s?.conditions?.find((c) => c.type === "Degraded")?.reason === "InvalidManifest", false);
    assert.equal(s?.lastDesiredStatus?.code, 200);
  });
});
