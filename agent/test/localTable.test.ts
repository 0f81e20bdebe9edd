import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatReleases, formatTable, settled } from "../../scripts/local/table.ts";

const sensor = { name: "sensor", runtimeStatus: "running", restartCount: 0 };
const filter = { name: "filter", runtimeStatus: "backoff", restartCount: 12 };

describe("the tables npm run local prints", () => {
  it("lists devices with their modules, sorted, columns aligned and no trailing blanks", () => {
    const text = formatTable([
      { deviceId: "plant-2", namespace: "msiot-hub-plant-2", ready: false, modules: [] },
      { deviceId: "plant-1", namespace: "msiot-hub-plant-1", ready: true, modules: [sensor, filter] },
    ]);
    assert.equal(
      text,
      [
        "DEVICE   NAMESPACE          READY  MODULE  STATUS   RESTARTS",
        "plant-1  msiot-hub-plant-1  yes    filter  backoff  12",
        "                                   sensor  running  0",
        "plant-2  msiot-hub-plant-2  no     -       -        -",
      ].join("\n"),
    );
    assert.equal(formatTable([]), "no EdgeDeployments in the cluster");
  });

  it("is settled once every device is ready with its modules listed", () => {
    assert.equal(settled([]), false);
    assert.equal(settled([{ deviceId: "d", namespace: "n", ready: true, modules: [sensor] }]), true);
    assert.equal(settled([{ deviceId: "d", namespace: "n", ready: true, modules: [] }]), false);
  });

  it("lists releases by track, highest priority first, with IoT Hub's counts", () => {
    const release = { track: "base", target: "", metrics: {}, applied: [] };
    const text = formatReleases([
      { ...release, name: "base-1", priority: 10, state: "", target: "tags.site='a'", applied: ["d1", "d2"] },
      { ...release, name: "base-2", priority: 11, state: "Staged", metrics: { targetedCount: 2 } },
    ]);
    assert.equal(
      text,
      [
        "RELEASE  TRACK  PRIORITY  STATE   TARGET         TARGETED  APPLIED  OK  FAILED  APPLIED ON",
        'base-2   base   11        Staged  ""             2         0        0   0       -',
        "base-1   base   10        -       tags.site='a'  0         0        0   0       d1, d2",
      ].join("\n"),
    );
    assert.equal(formatReleases([]), "no EdgeReleases in the cluster");
  });
});
