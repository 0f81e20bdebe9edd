import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AGENT, manifest, readExample, userModule } from "./fixtures/manifests.ts";
import { desiredStatusFor } from "../src/manifest/issues.ts";
import { parseDesired, parseManifest, type ParseResult } from "../src/manifest/parse.ts";

function ok(result: ParseResult) {
  if (!result.ok)
    assert.fail(`expected a valid manifest, got:\n${result.issues.map((i) => `${i.path}: ${i.message}`).join("\n")}`);
  return result;
}

describe("parseManifest: accepted shapes", () => {
  it("reads IoT Hub's deployment format (modulesContent)", () => {
    const { manifest: m } = ok(parseManifest(readExample("quickstart.json")));
    assert.deepEqual(
      m.modules.map((x) => [x.id, x.k8sName, x.system]),
      [
        ["$edgeHub", "edgehub", true],
        ["SimulatedTemperatureSensor", "simulatedtemperaturesensor", false],
      ],
    );
    assert.equal(m.schemaVersion, "1.1");
    assert.equal(m.edgeAgentImage, "mcr.microsoft.com/azureiotedge-agent:1.5");
    assert.deepEqual(m.edgeHub?.routes, [
      { name: "upstream", route: "FROM /messages/* INTO $upstream", priority: undefined, timeToLiveSecs: undefined },
    ]);
    assert.equal(m.edgeHub?.storeAndForwardTimeToLiveSecs, 7200);
  });

  it("reads the modules content itself ($edgeAgent at the top) and the Azure CLI's {content: …}", () => {
    const full = manifest();
    const bare = ok(parseManifest(full.modulesContent));
    const cli = ok(parseManifest({ id: "rollout-1", content: full }));
    const withoutPaths = (r: ReturnType<typeof ok>) =>
      JSON.stringify(r.manifest).replaceAll('"modulesContent",', "").replaceAll("modulesContent.", "");
    assert.equal(withoutPaths(bare), withoutPaths(ok(parseManifest(full))));
    assert.equal(bare.manifest.modules[0]!.path, "$edgeAgent.properties.desired.systemModules.edgeHub");
    assert.deepEqual(
      cli.manifest.modules.map((x) => x.id),
      bare.manifest.modules.map((x) => x.id),
    );
  });

  it("joins createOptions chunks (createOptions01…) in order", () => {
    const createOptions = JSON.stringify({ Env: [`LONG=${"x".repeat(1200)}`], ExposedPorts: { "80/tcp": {} } });
    const chunks = createOptions.match(/.{1,512}/gs)!;
    assert.equal(chunks.length, 3);
    const sensor = userModule("example.azurecr.io/sensor:1");
    sensor.settings = {
      image: "example.azurecr.io/sensor:1",
      createOptions: chunks[0],
      createOptions01: chunks[1]!,
      createOptions02: chunks[2]!,
    } as typeof sensor.settings;
    const { manifest: m } = ok(parseManifest(manifest({ modules: { sensor } })));
    const spec = m.modules.find((x) => x.id === "sensor")!;
    assert.equal(spec.createOptions.Env?.[0]?.length, 1205);
    assert.deepEqual(spec.exposedPorts, [{ port: 80, protocol: "TCP" }]);
  });

  it("accepts createOptions written as an object (deployment templates do)", () => {
    const sensor = { ...userModule("a/b:1"), settings: { image: "a/b:1", createOptions: { WorkingDir: "/app" } } };
    const { manifest: m } = ok(parseManifest(manifest({ modules: { sensor } })));
    assert.equal(m.modules.find((x) => x.id === "sensor")!.createOptions.WorkingDir, "/app");
  });

  it("reads the k8s-experimental section with case-insensitive keys", () => {
    const sensor = userModule("a/b:1", {
      "K8s-Experimental": { NodeSelector: { disk: "ssd" }, STRATEGY: { type: "Recreate" } },
    });
    const spec = ok(parseManifest(manifest({ modules: { sensor } }))).manifest.modules.find((x) => x.id === "sensor")!;
    assert.deepEqual(spec.k8sExperimental, { nodeSelector: { disk: "ssd" }, strategy: { type: "Recreate" } });
    assert.equal("K8s-Experimental" in spec.createOptions, false);
  });

  it("reads routes in string and object form, and module defaults", () => {
    const result = ok(
      parseManifest(
        manifest({
          routes: {
            a: "FROM /messages/* INTO $upstream",
            b: { route: "FROM /messages/modules/x/* INTO $upstream", priority: 2, timeToLiveSecs: 60 },
          },
          modules: { x: { ...userModule("a/b:1"), startupOrder: 5, env: { N: { value: 3 }, B: { value: true } } } },
        }),
      ),
    );
    assert.deepEqual(result.manifest.edgeHub?.routes[1], {
      name: "b",
      route: "FROM /messages/modules/x/* INTO $upstream",
      priority: 2,
      timeToLiveSecs: 60,
    });
    const x = result.manifest.modules.find((m) => m.id === "x")!;
    assert.equal(x.startupOrder, 5);
    assert.equal(x.imagePullPolicy, "on-create");
    assert.deepEqual(x.env, [
      ["N", "3"],
      ["B", "true"],
    ]);
    assert.equal(result.manifest.modules.find((m) => m.id === "$edgeHub")!.startupOrder, 4294967295);
  });

  it("reads registry credentials, normalising the address to a host", () => {
    const result = ok(
      parseManifest(
        manifest({
          registryCredentials: { acr: { address: "https://Contoso.azurecr.io/", username: "u", password: "p" } },
        }),
      ),
    );
    assert.deepEqual(result.manifest.registryCredentials, [
      { name: "acr", address: "contoso.azurecr.io", username: "u", password: "p" },
    ]);
  });

  it("reads null maps as empty: IoT Hub and server-side apply write an emptied map as null", () => {
    const input = manifest({ modules: {} });
    const desired = input.modulesContent.$edgeAgent["properties.desired"] as Record<string, unknown>;
    desired["modules"] = null;
    (desired["runtime"] as { settings: Record<string, unknown> }).settings["registryCredentials"] = null;
    const result = ok(parseManifest(input));
    assert.deepEqual(
      result.manifest.modules.map((m) => m.id),
      ["$edgeHub"],
    );
    assert.deepEqual(result.manifest.registryCredentials, []);
  });

  it("warns about unknown keys instead of failing", () => {
    const result = ok(parseManifest(manifest({ modules: { x: { ...userModule("a/b:1"), restartPolicyy: "never" } } })));
    assert.deepEqual(result.warnings, [{ path: `${AGENT}.modules.x.restartPolicyy`, message: "unknown key, ignored" }]);
  });

  it("maps issues to the IoT Edge status codes", () => {
    assert.deepEqual(desiredStatusFor([]), { code: 200, description: "" });
    assert.equal(desiredStatusFor([{ path: "a", message: "m", kind: "invalid" }]).code, 400);
    assert.equal(desiredStatusFor([{ path: "a", message: "m", kind: "unknownSchemaVersion" }]).code, 412);
    assert.equal(desiredStatusFor([{ path: "a", message: "m", kind: "empty" }]).code, 417);
  });

  it("a spec with no $edgeAgent yet is IoT Edge's 417: no deployment configuration set", () => {
    const result = parseDesired({
      edgeAgent: undefined,
      edgeHub: undefined,
      edgeAgentPath: ["spec", "edgeAgent"],
      edgeHubPath: ["spec", "edgeHub"],
    });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(desiredStatusFor(result.issues), {
      code: 417,
      description: "spec.edgeAgent: is not set: no deployment has reached this device yet",
    });
  });
});

describe("parseManifest: IoT Hub's module identity limit", () => {
  const many = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`m${i}`, userModule(`contoso.azurecr.io/m:${i}`)]));

  it("accepts 48 modules (with edgeAgent and edgeHub, the 50 identities IoT Hub allows a device)", () => {
    assert.equal(parseManifest(manifest({ modules: many(48) })).ok, true);
  });

  it("refuses 49 with 400, naming the modules and the limit", () => {
    const result = parseManifest(manifest({ modules: many(49) }));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      result.issues.map((i) => `${i.path}: ${i.message}`),
      [
        `${AGENT}.modules: 49 modules with edgeHub and edgeAgent need 51 module identities; IoT Hub allows 50 per device`,
      ],
    );
    assert.equal(desiredStatusFor(result.issues).code, 400);
  });
});
