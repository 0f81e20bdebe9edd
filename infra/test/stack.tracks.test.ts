import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { defineStack } from "../stack.ts";
import { ROOT, byName, inputs } from "./fixtures.ts";
import { trackStack } from "./trackFixtures.ts";
import { runMocked, valueOf } from "./mocks.ts";

const manifest = (path: string) =>
  (JSON.parse(readFileSync(`${ROOT}${path}`, "utf8")) as { modulesContent: unknown }).modulesContent;

describe("the Pulumi program under mocks: tracks on IoT Hub", async () => {
  const values = trackStack((v) => {
    (v["hub"] as Record<string, unknown>)["stagedTarget"] = "noDevice";
    (v["tracks"] as Record<string, Record<string, unknown>>)["factory"]!["metrics"] = {
      opcuaConnected: "SELECT deviceId FROM devices.modules WHERE moduleId='opcPublisher'",
    };
  });
  const { result, resources } = await runMocked(() => defineStack(inputs(values)));
  const tracks = resources.filter((r) => r.type === "pulumi-nodejs:dynamic/edgek8s:EdgeTrack");

  it("declares one EdgeTrack per track, named after it, with its content, target, band and plan inputs", () => {
    assert.deepEqual(tracks.map((t) => t.name).sort(), ["factory-track", "vision-track"]);
    const factory = byName(resources, "factory-track").inputs;
    assert.deepEqual(factory["modulesContent"], manifest("deployments/factory-gateway.json"));
    assert.equal(factory["target"], "tags.site='west'");
    assert.equal(factory["stackId"], "edgek8s.test");
    assert.equal(factory["track"], "factory");
    assert.equal(factory["retain"], 2);
    assert.deepEqual(factory["metrics"], {
      opcuaConnected: "SELECT deviceId FROM devices.modules WHERE moduleId='opcPublisher'",
    });
    assert.equal(factory["stagedTarget"], "deviceId='edgek8s-none'");
    const vision = byName(resources, "vision-track").inputs;
    assert.deepEqual(
      [vision["layer"], vision["trackIndex"], factory["layer"], factory["trackIndex"]],
      [true, 0, false, 0],
    );
    assert.deepEqual(vision["modulesContent"], manifest("infra/test/tracks/vision-layer.json"));
  });

  it("writes releases with the registryReadWrite key, kept secret, and after every device identity", () => {
    const key = Buffer.from("key-of-registryReadWrite").toString("base64");
    const identities = resources.filter((r) => r.type === "pulumi-nodejs:dynamic/edgek8s:DeviceIdentity");
    assert.equal(identities.length, 3);
    const hub = resources.find((r) => r.type === "edgek8s:index:EdgeHub");
    // factory-gateway.json carries a container registry password; the vision layer none.
    assert.deepEqual([...byName(resources, "factory-track").secretInputs].sort(), [
      "hubConnectionString",
      "modulesContent",
    ]);
    for (const track of tracks) {
      assert.ok(track.secretInputs.includes("hubConnectionString"));
      assert.equal(
        track.inputs["hubConnectionString"],
        `HostName=contoso-edge-prod.azure-devices.net;SharedAccessKeyName=registryReadWrite;SharedAccessKey=${key}`,
      );
      for (const identity of identities) assert.ok(track.dependencies.includes(identity.urn), identity.name);
      assert.equal(track.parent, hub?.urn);
      const plain = JSON.stringify(Object.entries(track.inputs).filter(([k]) => !track.secretInputs.includes(k)));
      assert.doesNotMatch(plain, /SharedAccessKey=|"password"/);
    }
  });

  it("exports each track's release ids", async () => {
    assert.deepEqual(Object.keys(result.tracks).sort(), ["factory", "vision"]);
    assert.equal(await valueOf(result.tracks["factory"]!.stableId), "ek8s-factory-000000000001");
  });
});
