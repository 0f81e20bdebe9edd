/**
 * Device twin tags as IoT Hub accepts them (learn.microsoft.com "Understand and use device twins in IoT
 * Hub", "Tags and properties format" and "Device twin size"): keys up to 1 KB without control
 * characters, `.`, `$` or spaces; string values up to 4 KB; integers within ±2^52; objects nested at
 * most 10 deep; and at most 8 KB in all, counted as IoT Hub counts it: each key's UTF-8 length plus its
 * value's (a string its UTF-8 length, a number 8 bytes, a Boolean 4, an object what it holds). Pure;
 * used at preview (config) and before every write. The stack's own tags are flat; edgek8s adds one
 * object, `edgek8s: {bucket}` (the rollout bucket, ROLLOUT.md §B1).
 */

export type TagValue = string | number | boolean | { readonly [key: string]: TagValue };

export const MAX_TAGS_BYTES = 8 * 1024;
const MAX_KEY_BYTES = 1024;
const MAX_STRING_BYTES = 4096;
const MAX_INTEGER = 4503599627370495;
const MIN_INTEGER = -4503599627370496;
const MAX_DEPTH = 10;
// eslint-disable-next-line no-control-regex -- control characters are what IoT Hub forbids in keys
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
// eslint-disable-next-line no-control-regex -- and what it leaves out of a string's size
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/gu;

export interface TagProblem {
  /** The tag's key, dotted below the top (the config path is `devices.<id>.tags.<key>`). */
  readonly key: string;
  readonly message: string;
}

const utf8 = (text: string) => Buffer.byteLength(text.replace(CONTROLS, ""), "utf8");

function valueBytes(value: TagValue): number {
  if (typeof value === "number") return 8;
  if (typeof value === "boolean") return 4;
  if (typeof value === "object") return tagsSize(value);
  return utf8(value);
}

/** IoT Hub's size of a tags section. */
export function tagsSize(tags: Readonly<Record<string, TagValue>>): number {
  return Object.entries(tags).reduce((sum, [key, value]) => sum + utf8(key) + valueBytes(value), 0);
}

function entryProblems(tags: Readonly<Record<string, TagValue>>, prefix: string, depth: number): TagProblem[] {
  const problems: TagProblem[] = [];
  for (const [name, value] of Object.entries(tags)) {
    const key = `${prefix}${name}`;
    if (name === "") problems.push({ key, message: "a tag key may not be empty" });
    if (/[.$ ]/.test(name) || CONTROL.test(name))
      problems.push({ key, message: "IoT Hub refuses tag keys with '.', '$', spaces or control characters" });
    if (Buffer.byteLength(name, "utf8") > MAX_KEY_BYTES) problems.push({ key, message: "is longer than 1 KB" });
    if (typeof value === "string" && Buffer.byteLength(value, "utf8") > MAX_STRING_BYTES)
      problems.push({ key, message: "is longer than IoT Hub's 4 KB for a string value" });
    if (typeof value === "number" && Number.isInteger(value) && (value > MAX_INTEGER || value < MIN_INTEGER))
      problems.push({ key, message: "is outside IoT Hub's integer range (±4503599627370495)" });
    if (typeof value === "object") {
      if (depth >= MAX_DEPTH)
        problems.push({ key, message: `nests deeper than IoT Hub's ${String(MAX_DEPTH)} levels` });
      else problems.push(...entryProblems(value, `${key}.`, depth + 1));
    }
  }
  return problems;
}

export function tagProblems(tags: Readonly<Record<string, TagValue>>): TagProblem[] {
  const problems = entryProblems(tags, "", 1);
  const size = tagsSize(tags);
  if (size > MAX_TAGS_BYTES)
    problems.push({ key: "", message: `are ${String(size)} bytes; IoT Hub allows ${String(MAX_TAGS_BYTES)}` });
  return problems;
}

/** `tags["a.b"]: message` lines, for an error. */
export function formatTagProblems(problems: readonly TagProblem[]): string {
  return problems
    .map((p) => (p.key === "" ? `tags ${p.message}` : `tags[${JSON.stringify(p.key)}]: ${p.message}`))
    .join("; ");
}
