import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deviceIdProblem, hostNameProblem } from "../src/naming/ids.ts";
import { deviceNamespace, hubName, k8sName } from "../src/naming/k8sName.ts";

const DNS_1035 = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

describe("k8sName", () => {
  const cases: [string, string][] = [
    ["SimulatedTemperatureSensor", "simulatedtemperaturesensor"],
    ["$edgeHub", "edgehub"],
    ["opc_publisher", "opc-publisher"],
    ["my__module--x", "my-module-x"],
    ["-lead-and-trail_", "lead-and-trail"],
    ["9lives", "m-9lives"],
  ];
  for (const [id, expected] of cases) {
    it(`${id} → ${expected}`, () => {
      assert.equal(k8sName(id), expected);
    });
  }

  it("shortens long ids to 63 characters with a hash that keeps them distinct", () => {
    const a = k8sName(`${"a".repeat(70)}1`);
    const b = k8sName(`${"a".repeat(70)}2`);
    assert.equal(a.length <= 63, true);
    assert.match(a, DNS_1035);
    assert.notEqual(a, b);
    assert.match(a, /^a+-[0-9a-f]{8}$/);
  });

  it("never returns an empty or invalid name", () => {
    for (const id of ["___", "---", "$", "Ünïcödé", "x".repeat(200), "a-"]) assert.match(k8sName(id), DNS_1035, id);
  });

  it("is deterministic", () => {
    assert.equal(k8sName("x".repeat(100)), k8sName("x".repeat(100)));
  });
});

describe("device namespace", () => {
  it("is msiot-<hub>-<device> with the hub's first label", () => {
    assert.equal(hubName("my-hub.azure-devices.net"), "my-hub");
    assert.equal(deviceNamespace("my-hub.azure-devices.net", "Edge_Device.01"), "msiot-my-hub-edge-device-01");
  });
  it("stays within 63 characters for long device ids", () => {
    const ns = deviceNamespace("a-very-long-iot-hub-name-for-the-factory.azure-devices.net", "d".repeat(128));
    assert.equal(ns.length <= 63, true);
    assert.match(ns, /^msiot-a-very-long-iot-hub-name/);
  });
});

describe("ids", () => {
  it("accepts IoT Hub device ids and rejects what IoT Hub rejects", () => {
    assert.equal(deviceIdProblem("edge-device_1:line.3@plant"), undefined);
    assert.match(deviceIdProblem("")!, /empty/);
    assert.match(deviceIdProblem("a".repeat(129))!, /at most 128/);
    assert.match(deviceIdProblem("has space")!, /may only contain/);
    assert.match(deviceIdProblem("slash/no")!, /may only contain/);
  });
  it("checks hub host names", () => {
    assert.equal(hostNameProblem("my-hub.azure-devices.net"), undefined);
    assert.match(hostNameProblem("https://my-hub")!, /DNS host name/);
    assert.match(hostNameProblem("-bad.example")!, /DNS host name/);
  });
});
