import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { attributePaths, parseCondition, quoteLiteral, type Expr } from "../src/releases/condition.ts";
import { type JsonValue, matches } from "../src/releases/evaluate.ts";

function parse(text: string): Expr {
  const parsed = parseCondition(text);
  if (!parsed.ok) assert.fail(`${text}: ${parsed.error.message} at ${parsed.error.position}`);
  return parsed.expr;
}

function selects(condition: string, twin: JsonValue): boolean {
  return matches(parse(condition), twin);
}

const twin = {
  deviceId: "line3-gw",
  capabilities: { iotEdge: true },
  tags: { site: "plant-west", ring: "canary", edgek8s: { bucket: 7 }, camera: true, owner: "O'Brien", floor: null },
  properties: {
    desired: { $version: 12 },
    reported: { lastDesiredVersion: 12, lastDesiredStatus: { code: 200 }, heartbeat: "2026-11-30T10:00:00Z" },
  },
  configurations: { "ek8s-factory-0123456789ab": { status: "Applied" } },
} as const;

describe("target conditions: what selects a device", () => {
  const table: [string, boolean][] = [
    ["tags.site = 'plant-west'", true],
    ["tags.site='plant-west'", true],
    ["tags.site = 'plant-east'", false],
    ["tags.site != 'plant-east'", true],
    ["tags.site <> 'plant-east'", true],
    ["deviceId = 'line3-gw'", true],
    ["tags.site = 'plant-west' AND tags.camera = true", true],
    ["tags.site = 'plant-west' and tags.camera = false", false],
    ["tags.site = 'plant-east' OR tags.ring = 'canary'", true],
    ["NOT (tags.ring = 'canary')", false],
    ["NOT tags.ring = 'early'", true],
    ["tags.edgek8s.bucket < 10", true],
    ["tags.edgek8s.bucket < 7", false],
    ["tags.edgek8s.bucket <= 7", true],
    ["tags.edgek8s.bucket >= 0x7", true],
    ["tags.edgek8s.bucket > 6.5", true],
    ["tags.edgek8s.bucket + 3 = 10", true],
    ["tags.edgek8s.bucket % 2 = 1", true],
    ["-tags.edgek8s.bucket = -7", true],
    ["tags.ring IN ['canary', 'early']", true],
    ["tags.ring in ['early']", false],
    ["tags.ring NIN ['early', 'broad']", true],
    ["tags.edgek8s.bucket IN [1, 7, -3]", true],
    ["IS_DEFINED(tags.ring)", true],
    ["is_defined(tags.floor)", true],
    ["IS_DEFINED(tags.nothing)", false],
    ["tags.owner = 'O''Brien'", true],
    ["tags.owner = 'O\\'Brien'", true],
    ['tags.owner = "O\'Brien"', true],
    ["tags.floor = null", true],
    ["capabilities.iotEdge = true AND (tags.site = 'plant-west')", true],
    ["configurations.[[ek8s-factory-0123456789ab]].status = 'Applied'", true],
    ["properties.desired.$version = properties.reported.lastDesiredVersion", true],
    ["properties.reported.lastDesiredStatus.code = 200", true],
    ["properties.reported.heartbeat < '2026-12-01'", true],
    // Comparisons are between primitives of one type only; anything else is undefined → not selected.
    ["tags.edgek8s.bucket = '7'", false],
    ["tags.edgek8s = tags.edgek8s", false],
    ["tags.camera < true", false],
    // Undefined does not turn true under NOT; OR with a true side is true.
    ["NOT (tags.missing = 'x')", false],
    ["NOT (tags.missing = 'x') OR NOT IS_DEFINED(tags.missing)", true],
    ["tags.missing = 'x' OR tags.ring = 'canary'", true],
    ["tags.missing != 'x'", false],
    ["tags.missing NIN ['x']", false],
    // A condition that is not Boolean true does not select.
    ["tags.site", false],
    ["tags.edgek8s.bucket / 0 = 1", false],
  ];
  for (const [condition, expected] of table) {
    it(`${condition} → ${expected}`, () => {
      assert.equal(selects(condition, twin), expected);
    });
  }
});

describe("target conditions: what is refused, and where", () => {
  const table: [string, RegExp, number][] = [
    ["", /empty condition/, 0],
    ["tags.site = ", /expected a value/, 12],
    ["tags.site = 'plant", /unterminated string/, 12],
    ["tags.site == 'x'", /expected a value/, 11],
    ["tags.site = 'x' AND", /expected a value/, 19],
    ["(tags.site = 'x'", /expected "\)"/, 16],
    ["tags.site = 'x')", /unexpected "\)"/, 15],
    ["STARTS_WITH(tags.site, 'p')", /only IS_DEFINED/, 0],
    ["tags.ring IN ('a')", /expected "\["/, 13],
    ["tags.ring IN [tags.site]", /must be constants/, 14],
    ["tags.site = 'a\\x'", /unsupported escape/, 14],
    ["tags. = 'a'", /attribute name/, 6],
    ["tags.site = 'a' ; drop", /unexpected character/, 16],
  ];
  for (const [condition, message, position] of table) {
    it(JSON.stringify(condition), () => {
      const parsed = parseCondition(condition);
      assert.equal(parsed.ok, false);
      if (parsed.ok) return;
      assert.match(parsed.error.message, message);
      assert.equal(parsed.error.position, position);
    });
  }

  it("notes double-quoted strings, which IoT Edge target conditions do not allow", () => {
    const parsed = parseCondition('tags.a = "x"');
    assert.equal(parsed.ok && parsed.doubleQuoted, true);
    const single = parseCondition("tags.a = 'x'");
    assert.equal(single.ok && single.doubleQuoted, false);
  });

  it("lists the attributes a condition reads", () => {
    assert.deepEqual(attributePaths(parse("tags.a = 1 AND (NOT IS_DEFINED(deviceId) OR -tags.b.c IN [1])")), [
      ["tags", "a"],
      ["deviceId"],
      ["tags", "b", "c"],
    ]);
  });
});

describe("target conditions: properties", () => {
  const tagValue = fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: -1000, max: 1000 }), fc.boolean());
  const device = fc.record({ site: tagValue, ring: fc.option(tagValue, { nil: undefined }) });
  const asTwin = (d: { site: unknown; ring: unknown }): JsonValue =>
    JSON.parse(JSON.stringify({ deviceId: "d", tags: { site: d.site, ring: d.ring } })) as JsonValue;
  const literal = (v: string | number | boolean) => (typeof v === "string" ? quoteLiteral(v) : String(v));

  it("any string round-trips through quoteLiteral: tags.x = <quoted x> selects", () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        assert.equal(selects(`tags.x = ${quoteLiteral(value)}`, { tags: { x: value } }), true);
      }),
    );
  });

  it("= and != never both select, and at least one does when both sides are defined and of one type", () => {
    fc.assert(
      fc.property(device, tagValue, (d, v) => {
        const twinDoc = asTwin(d);
        const eq = selects(`tags.site = ${literal(v)}`, twinDoc);
        const ne = selects(`tags.site != ${literal(v)}`, twinDoc);
        assert.equal(eq && ne, false);
        if (typeof d.site === typeof v) assert.equal(eq || ne, true);
      }),
    );
  });

  it("De Morgan holds where both sides are defined, and AND/OR are commutative everywhere", () => {
    fc.assert(
      fc.property(device, tagValue, tagValue, (d, a, b) => {
        const twinDoc = asTwin(d);
        const p = `tags.site = ${literal(a)}`;
        const q = `tags.ring = ${literal(b)}`;
        assert.equal(selects(`${p} AND ${q}`, twinDoc), selects(`${q} AND ${p}`, twinDoc));
        assert.equal(selects(`${p} OR ${q}`, twinDoc), selects(`${q} OR ${p}`, twinDoc));
        if (typeof d.site === typeof a && typeof d.ring === typeof b) {
          assert.equal(selects(`NOT (${p} AND ${q})`, twinDoc), selects(`NOT (${p}) OR NOT (${q})`, twinDoc));
        }
      }),
    );
  });

  it("IN is the OR of equalities and NIN its negation for a defined primitive", () => {
    fc.assert(
      fc.property(device, fc.array(tagValue, { minLength: 1, maxLength: 4 }), (d, items) => {
        const twinDoc = asTwin(d);
        const list = `[${items.map(literal).join(", ")}]`;
        const inList = selects(`tags.site IN ${list}`, twinDoc);
        assert.equal(inList, selects(items.map((v) => `tags.site = ${literal(v)}`).join(" OR "), twinDoc));
        assert.equal(selects(`tags.site NIN ${list}`, twinDoc), !inList);
      }),
    );
  });

  it("never throws on arbitrary text: it parses or reports a position inside the text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const parsed = parseCondition(text);
        if (!parsed.ok) assert.equal(parsed.error.position >= 0 && parsed.error.position <= text.length, true);
      }),
    );
  });
});
