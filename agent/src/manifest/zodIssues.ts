import type { z } from "zod";
import { type JsonPath, type ManifestIssue, issue } from "./issues.ts";

function describe(zodIssue: z.core.$ZodIssue): string {
  const message = zodIssue.message;
  // zod says "expected string, received undefined" for a missing key; say what the user must do.
  const missing = /^Invalid input: expected (.+), received undefined$/.exec(message);
  if (missing) return `is required (expected ${missing[1]})`;
  if (zodIssue.code === "unrecognized_keys") return `unknown key(s) ${zodIssue.keys.map((k) => `"${k}"`).join(", ")}`;
  return message.replace(/^Invalid input: /, "").replace(/^Invalid option: /, "");
}

/** Turns zod's issues into manifest issues whose paths start at `base` in the input document. */
export function fromZod(error: z.ZodError, base: JsonPath): ManifestIssue[] {
  return error.issues.map((zodIssue) =>
    issue([...base, ...zodIssue.path.map((p) => (typeof p === "symbol" ? String(p) : p))], describe(zodIssue)),
  );
}
