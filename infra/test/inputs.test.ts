import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { kubeconfigPath, loadStackInputs } from "../inputs.ts";

const QUICKSTART = JSON.stringify({
  modulesContent: {
    $edgeAgent: {
      "properties.desired": {
        schemaVersion: "1.1",
        runtime: { type: "docker", settings: {} },
        systemModules: {
          edgeAgent: { type: "docker", settings: { image: "mcr.microsoft.com/azureiotedge-agent:1.5" } },
          edgeHub: {
            type: "docker",
            status: "running",
            restartPolicy: "always",
            settings: { image: "mcr.microsoft.com/azureiotedge-hub:1.5" },
          },
        },
        modules: {},
      },
    },
    $edgeHub: {
      "properties.desired": {
        schemaVersion: "1.1",
        routes: {},
        storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
      },
    },
  },
});

const files: Record<string, string> = {
  "/repo/kubeconfig": "kind: Config",
  "/repo/deployments/ok.json": QUICKSTART,
  "/repo/deployments/broken.json": "{ not json",
  "/repo/deployments/bad.json": QUICKSTART.replace(
    '"schemaVersion":"1.1","runtime"',
    '"schemaVersion":"9.9","runtime"',
  ),
};
const read = (path: string) => files[path];
const values = (devices: Record<string, unknown>, kubeconfig = "kubeconfig") => ({
  hub: { mode: "none" },
  clusters: { local: { kubeconfig } },
  devices,
});

describe("stack inputs", () => {
  it("loads kubeconfigs and manifests relative to the project root", () => {
    const loaded = loadStackInputs(
      values({ gw: { cluster: "local", manifest: "deployments/ok.json" } }),
      "/repo",
      read,
      {},
    );
    if (!loaded.ok) assert.fail(JSON.stringify(loaded.issues));
    assert.equal(loaded.inputs.kubeconfigs["local"], "kind: Config");
    assert.equal((loaded.inputs.manifests.get("gw")?.edgeAgent as { schemaVersion: string }).schemaVersion, "1.1");
  });

  it("reports every problem at once, each naming its key, the file and the JSON path", () => {
    const loaded = loadStackInputs(
      values(
        {
          a: { cluster: "local", manifest: "deployments/missing.json" },
          b: { cluster: "local", manifest: "deployments/broken.json" },
          c: { cluster: "local", manifest: "deployments/bad.json" },
          d: { cluster: "nowhere", manifest: "deployments/ok.json" },
        },
        "nope/kubeconfig",
      ),
      "/repo",
      read,
      {},
    );
    assert.equal(loaded.ok, false);
    const lines = loaded.ok ? [] : loaded.issues.map((i) => `${i.key}: ${i.message}`);
    assert.deepEqual(lines, [
      'edgek8s:devices.d.cluster: unknown cluster "nowhere"; clusters: local',
      "edgek8s:clusters.local.kubeconfig: /repo/nope/kubeconfig does not exist; start the local cluster with `npm run cluster:up` or run `npm run local`",
      "edgek8s:devices.a.manifest: deployments/missing.json does not exist (paths are relative to the project root)",
      `edgek8s:devices.b.manifest: deployments/broken.json is not JSON: ${(() => {
        try {
          JSON.parse("{ not json");
        } catch (e) {
          return (e as Error).message;
        }
        return "";
      })()}`,
      'edgek8s:devices.c.manifest: deployments/bad.json: modulesContent.$edgeAgent.properties.desired.schemaVersion: schema version "9.9" is not supported: the Edge Agent reads 1.0 up to 1.1.0',
    ]);
  });

  it("finds a cluster's kubeconfig as configured, else $KUBECONFIG's first file, else ~/.kube/config", () => {
    assert.equal(kubeconfigPath({ kubeconfig: "/abs/k", agent: AGENT }, "/repo", {}), "/abs/k");
    assert.equal(kubeconfigPath({ kubeconfig: "rel/k", agent: AGENT }, "/repo", {}), "/repo/rel/k");
    assert.equal(kubeconfigPath({ agent: AGENT }, "/repo", { KUBECONFIG: ":/a:/b", HOME: "/h" }), "/a");
    assert.equal(kubeconfigPath({ agent: AGENT }, "/repo", { HOME: "/h" }), "/h/.kube/config");
  });
  it("reads and validates a manifest many devices share once, and reports its problems under each device's key", () => {
    const reads: string[] = [];
    const counting = (path: string) => (reads.push(path), files[path]);
    const devices = Object.fromEntries(
      ["a", "b", "c"].map((id) => [id, { cluster: "local", manifest: "deployments/ok.json" }]),
    );
    const loaded = loadStackInputs(values(devices), "/repo", counting, {});
    if (!loaded.ok) assert.fail(JSON.stringify(loaded.issues));
    assert.deepEqual([...loaded.inputs.manifests.keys()], ["a", "b", "c"]);
    assert.equal(reads.filter((p) => p === "/repo/deployments/ok.json").length, 1);

    const broken = loadStackInputs(
      values({
        x: { cluster: "local", manifest: "deployments/broken.json" },
        y: { cluster: "local", manifest: "deployments/broken.json" },
      }),
      "/repo",
      read,
      {},
    );
    assert.ok(!broken.ok);
    assert.deepEqual(
      broken.issues.map((i) => i.key),
      ["edgek8s:devices.x.manifest", "edgek8s:devices.y.manifest"],
    );
  });
});

const AGENT = { mode: "cluster", image: "i", replicas: 1, namespace: "edgek8s-system" } as const;
