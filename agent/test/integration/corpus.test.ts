import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Cluster, createNamespace, startCluster } from "./harness.ts";
import { KubeError } from "../../src/kube/client.ts";
import { parseManifest } from "../../src/manifest/parse.ts";
import { DEFAULT_TRANSLATION_DEFAULTS } from "../../src/translate/context.ts";
import { translate } from "../../src/translate/translate.ts";
import { PARENT_HOSTNAME, corpus } from "../fixtures/corpus.ts";

/**
 * "validate passes but the API server refuses" must not come back: every object every corpus
 * manifest renders to is applied for real (server-side apply, as the agent writes) to a real API
 * server, each manifest in a namespace of its own, and must be accepted as it is.
 */
describe("fidelity corpus on a real API server", () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    cluster.admin.close();
    await cluster.plane.stop();
  });

  for (const m of corpus()) {
    it(`${m.name}: the API server accepts every rendered object`, async () => {
      const namespace = `corpus-${m.name}`;
      await createNamespace(cluster, namespace);
      const parsed = parseManifest(m.input, { parentHostname: PARENT_HOSTNAME });
      if (!parsed.ok) assert.fail(parsed.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
      const { objects } = translate(parsed.manifest, {
        deviceId: `${m.name}-device`,
        hubHostName: "plant-hub.azure-devices.net",
        namespace,
        defaults: { ...DEFAULT_TRANSLATION_DEFAULTS, serviceType: "LoadBalancer", parentHostname: PARENT_HOSTNAME },
      });
      const refused: string[] = [];
      for (const object of objects) {
        try {
          await cluster.admin.apply(object, "edgek8s-agent");
        } catch (error) {
          if (!(error instanceof KubeError)) throw error;
          refused.push(`${object.kind}/${object.metadata.name}: ${error.message}`);
        }
      }
      assert.deepEqual(refused, []);
      assert.ok(objects.length > 0);
    });
  }
});
