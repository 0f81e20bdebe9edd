import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Fleet, LEASE_SECONDS, TRACK_TARGET, ns } from "./rolloutFleet.ts";
import { crashModulePod, waitFor } from "./harness.ts";
import { EXIT } from "../../src/rollout/stateMachine.ts";

// Releases of track factory, each at the next priority, as successive `pulumi up`s make them.
const R1 = "ek8s-factory-000000000001";
const R2 = "ek8s-factory-000000000002";
const R3 = "ek8s-factory-000000000003";
const R4 = "ek8s-factory-000000000004";
const R5 = "ek8s-factory-000000000005";
const R6 = "ek8s-factory-000000000006";
const DEVICES = ["canary-1", "gw-1", "gw-2"];

describe("edgek8s rollout on a local stack: control plane, kwok, per-device agents, the release engine", () => {
  let fleet: Fleet;

  before(async () => {
    fleet = await Fleet.start({
      "canary-1": { site: "west", ring: "canary" },
      "gw-1": { site: "west" },
      "gw-2": { site: "west" },
    });
    await fleet.addRelease(R1, 1, "sensor:1", TRACK_TARGET, "Stable");
    await fleet.waitRunning(DEVICES, "sensor:1");
  });
  after(async () => {
    await fleet.stop();
  });

  it("canary → all: every ring verified on the devices' own reports; the candidate becomes stable", async () => {
    await fleet.addRelease(R2, 2, "sensor:2", "", "Staged");
    const driver = fleet.spawnDriver();
    assert.equal(await driver.exit(), EXIT.done, driver.stderr);
    assert.deepEqual(driver.transitions(), [
      "canary:Applying",
      "canary:Verifying",
      "canary:Baking",
      "all:Applying",
      "all:Verifying",
      "all:Baking",
      "all:Stable",
    ]);
    const rings = driver.summary()?.["rings"] as { ring: string; tally: { succeeded: number; expected: number } }[];
    assert.deepEqual(
      rings.map((r) => [r.ring, r.tally.expected, r.tally.succeeded]),
      [
        ["canary", 1, 1],
        ["all", 3, 3],
      ],
    );
    for (const id of DEVICES) assert.ok(await fleet.runs(id, "sensor:2"), id);
    assert.equal(await fleet.stateOf(R2), "Stable");
    assert.equal(await fleet.stateOf(R1), "Superseded");
    assert.equal((await fleet.release(R2))?.spec?.targetCondition, TRACK_TARGET);
  });

  it("a module that crashes during the canary's bake aborts; the rollback to the stable release is verified", async () => {
    await fleet.addRelease(R3, 3, "sensor:3", "", "Staged");
    const driver = fleet.spawnDriver();
    await waitFor("canary baking", async () => (await fleet.stateOf(R3)) === "Baking", 60_000);
    assert.ok(await fleet.runs("canary-1", "sensor:3"));
    // kwok crashes the running pod of the new version once it is given the simulate annotation.
    await crashModulePod(fleet.cluster.admin, ns("canary-1"), "sensor");
    assert.equal(await driver.exit(), EXIT.rolledBack, driver.stderr);
    assert.deepEqual(driver.transitions().slice(-3), ["canary:Baking", "canary:Aborting", "canary:RolledBack"]);
    const aborting = driver.events.find((e) => e["type"] === "transition" && e["state"] === "Aborting");
    assert.match(String(aborting?.["message"]), /during bake/);
    const release = await fleet.release(R3);
    assert.equal(release?.spec?.targetCondition, "");
    assert.equal(release?.spec?.labels?.["edgek8s.reason"], "Failures");
    // Verified: every device reports the stable release's version, 200, ready (and the canary's
    // crashed pod is gone with the candidate's template).
    for (const id of DEVICES) assert.ok(await fleet.runs(id, "sensor:2"), id);
    assert.equal(await fleet.stateOf(R2), "Stable");
    // A rolled-back release is not rolled out again by a later run.
    const again = fleet.spawnDriver();
    assert.equal(await again.exit(), EXIT.rolledBack, again.stderr);
    assert.equal((await fleet.release(R3))?.spec?.targetCondition, "");
  });

  it("a driver killed mid-bake (SIGKILL) is resumed from the release's labels by the next run", async () => {
    await fleet.addRelease(R4, 4, "sensor:4", "", "Staged");
    const first = fleet.spawnDriver();
    await waitFor("canary baking", async () => (await fleet.stateOf(R4)) === "Baking", 60_000);
    const bakingSince = (await fleet.release(R4))?.spec?.labels?.["edgek8s.since"];
    first.kill();
    assert.equal(await first.exit(), null);
    // The killed driver's lease keeps others out until it expires (LEASE_SECONDS after its last
    // renewal, as stored on the release): exit 6.
    const early = fleet.spawnDriver();
    assert.equal(await early.exit(), EXIT.preflight, early.stderr);
    assert.match(JSON.stringify(early.events), /is driven by/);
    const renewed = (await fleet.release(R4))?.metadata?.annotations?.["edgek8s.io/rollout-renewed"];
    assert.ok(renewed !== undefined, "the killed driver's lease is on the release");
    await waitFor(
      "the killed driver's lease to expire",
      () => Promise.resolve(Date.now() > Date.parse(renewed) + LEASE_SECONDS * 1000 + 500),
      LEASE_SECONDS * 1000 + 5_000,
    );
    const resumedAt = Date.now();
    const second = fleet.spawnDriver();
    assert.equal(await second.exit(), EXIT.done, second.stderr);
    // It went on from the bake it found (same since), never back to the canary's Applying.
    const transitions = second.transitions();
    assert.equal(transitions[0], "all:Applying", transitions.join(" "));
    assert.ok(!transitions.includes("canary:Applying"));
    // The bake was not started again: ring all began before a whole bake (12 s) after the resume.
    const allStarted = second.events.find((e) => e["type"] === "transition" && e["ring"] === "all");
    assert.ok(bakingSince !== undefined && Date.parse(bakingSince) < resumedAt);
    assert.ok(Date.parse(String(allStarted?.["time"])) < resumedAt + 12_000);
    for (const id of DEVICES) assert.ok(await fleet.runs(id, "sensor:4"), id);
    assert.equal(await fleet.stateOf(R4), "Stable");
  });

  it("two drivers at once: one drives the rollout, the other exits 6", async () => {
    await fleet.addRelease(R5, 5, "sensor:5", "", "Staged");
    const a = fleet.spawnDriver();
    const b = fleet.spawnDriver();
    const codes = [await a.exit(), await b.exit()].sort();
    assert.deepEqual(codes, [EXIT.done, EXIT.preflight], `${a.stderr}\n${b.stderr}`);
    for (const id of DEVICES) assert.ok(await fleet.runs(id, "sensor:5"), id);
  });

  it("a device whose agent is stopped mid-rollout counts as unreachable and does not block the ring", async () => {
    await fleet.addRelease(R6, 6, "sensor:6", "", "Staged");
    const canary = fleet.spawnDriver("--until", "canary");
    assert.equal(await canary.exit(), EXIT.done, canary.stderr);
    assert.equal(await fleet.stateOf(R6), "Paused");
    await fleet.stopAgent("gw-2");
    const rest = fleet.spawnDriver("--resume");
    assert.equal(await rest.exit(), EXIT.done, rest.stderr);
    const rings = rest.summary()?.["rings"] as {
      ring: string;
      tally: { succeeded: number; unreachable: number; unreachableDevices: string[] };
    }[];
    const all = rings.find((r) => r.ring === "all");
    assert.deepEqual([all?.tally.succeeded, all?.tally.unreachable, all?.tally.unreachableDevices], [2, 1, ["gw-2"]]);
    for (const id of ["canary-1", "gw-1"]) assert.ok(await fleet.runs(id, "sensor:6"), id);
    assert.equal(await fleet.stateOf(R6), "Stable");
    // Back online, the device gets the release on its own (targeting is continuous).
    await fleet.startAgent("gw-2");
    await fleet.waitRunning(["gw-2"], "sensor:6");
  });

  it("--dry-run prints each ring's condition with the devices it selects now; --status the releases", async () => {
    const dry = fleet.spawnDriver("--dry-run");
    assert.equal(await dry.exit(), EXIT.done, dry.stderr);
    const messages = dry.events.filter((e) => e["type"] === "info").map((e) => String(e["message"]));
    assert.deepEqual(messages, [
      `ring canary: 1 devices: (${TRACK_TARGET}) AND ((tags.ring = 'canary'))`,
      `ring all: 3 devices: ${TRACK_TARGET}`,
    ]);
    const status = fleet.spawnDriver("--status");
    assert.equal(await status.exit(), EXIT.done, status.stderr);
    assert.match(JSON.stringify(status.events), new RegExp(`stable: ${R6} Stable`));
  });
});
