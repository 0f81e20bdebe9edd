import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { INVALID_CASES } from "./fixtures/invalidCorpus.ts";
import { AGENT, HUB, manifest, userModule } from "./fixtures/manifests.ts";
import { desiredStatusFor } from "../src/manifest/issues.ts";
import { parseManifest } from "../src/manifest/parse.ts";

describe("bad input corpus: each case fails with its JSON path and a precise message", () => {
  for (const c of INVALID_CASES) {
    it(c.name, () => {
      const result = parseManifest(c.input);
      if (result.ok) assert.fail("expected the manifest to be rejected");
      const match = result.issues.find((i) => i.path === c.path);
      assert.ok(
        match,
        `no issue at ${c.path}; got:\n${result.issues.map((i) => `${i.path}: ${i.message}`).join("\n")}`,
      );
      assert.match(match.message, c.message);
      assert.equal(desiredStatusFor(result.issues).code, c.code);
    });
  }
});

describe("bad input: every problem is reported at once", () => {
  it("reports problems in several modules, in a module's settings and createOptions, and in $edgeHub together", () => {
    const input = manifest({
      routes: { r: "not a route" },
      modules: {
        a: userModule("x/a:1", "{not json", { restartPolicy: "sometimes" }),
        b: userModule("x/b:1", { ExposedPorts: { "99999/tcp": {} } }),
        c: userModule("x/c:1"),
      },
    });
    const result = parseManifest(input);
    if (result.ok) assert.fail("expected the manifest to be rejected");
    assert.deepEqual(result.issues.map((i) => i.path).sort(), [
      `${AGENT}.modules.a.restartPolicy`,
      `${AGENT}.modules.a.settings.createOptions`,
      `${AGENT}.modules.b.settings.createOptions.ExposedPorts.99999/tcp`,
      `${HUB}.routes.r`,
    ]);
  });
});
