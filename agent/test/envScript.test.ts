import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

describe("scripts/env.sh", () => {
  it("roots every script in its own checkout, whatever EDGEK8S_ROOT the shell inherited", () => {
    const root = execFileSync("bash", ["-c", '. scripts/env.sh >/dev/null 2>&1; printf %s "$EDGEK8S_ROOT"'], {
      cwd: ROOT,
      env: { ...process.env, EDGEK8S_ROOT: "/some/other/checkout" },
      encoding: "utf8",
    });
    assert.equal(root, ROOT);
  });
});
