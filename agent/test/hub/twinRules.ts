// Twin documents as IoT Hub stores and checks them, written from the documentation, not from the
// product's code. Source: learn.microsoft.com "Understand and use device twins in IoT Hub"
// (articles/iot-hub/iot-hub-devguide-device-twins.md):
//   - "Tags and properties format": keys are UTF-8, case-sensitive, up to 1 KB, without control
//     characters, `.`, `$` or space; string values up to 4 KB; integers within ±4503599627370495
//     (-4503599627370496 at the low end); objects nest at most 10 deep.
//   - "Device twin size": tags ≤ 8 KB, desired and reported ≤ 32 KB each, read-only `$` elements
//     excluded; size = Σ key length + value length, numbers 8 bytes, booleans 4, strings their
//     UTF-8 length without control characters, objects the sum of what they hold. "IoT Hub rejects with
//     an error all operations that would increase the size … above the limit".
//   - "Back-end operations" / "Device operations": a partial update adds or replaces members and a
//     `null` member is removed (JSON merge patch); a replace substitutes the whole section.
// The same limits appear in IoT Edge's edgeHub, which mirrors IoT Hub: Azure/iotedge PR #1932
// (TwinPropertyMaxDepth 10, name 1024, value 4096, document 32 KB).

export const LIMITS = {
  keyBytes: 1024,
  stringBytes: 4096,
  depth: 10,
  maxInteger: 4503599627370495,
  minInteger: -4503599627370496,
  tagsBytes: 8 * 1024,
  propertiesBytes: 32 * 1024,
} as const;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// C0 and C1 control characters do not count towards a string's size.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/gu;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

function textBytes(text: string): number {
  return Buffer.byteLength(text.replace(CONTROL, ""), "utf8");
}

function valueBytes(value: unknown): number {
  if (typeof value === "string") return textBytes(value);
  if (typeof value === "number") return 8;
  if (typeof value === "boolean") return 4;
  if (Array.isArray(value)) return value.reduce<number>((sum, v) => sum + valueBytes(v), 0);
  if (isObject(value)) return twinSize(value);
  return 0;
}

/** IoT Hub's size of a tags or properties section, its `$` bookkeeping excluded. */
export function twinSize(doc: Json): number {
  let size = 0;
  for (const [key, value] of Object.entries(doc)) {
    if (key.startsWith("$")) continue;
    size += textBytes(key) + valueBytes(value);
  }
  return size;
}

/** Every rule a document (or a patch to it) breaks, with the JSON path; empty when it is valid. */
export function twinProblems(doc: Json, path: string, depth = 1): string[] {
  const problems: string[] = [];
  if (depth > LIMITS.depth) return [`${path}: objects nest deeper than ${String(LIMITS.depth)} levels`];
  for (const [key, value] of Object.entries(doc)) {
    const at = `${path}.${key}`;
    if (Buffer.byteLength(key, "utf8") > LIMITS.keyBytes) problems.push(`${at}: key longer than 1 KB`);
    if (/[.$ ]/.test(key) || HAS_CONTROL.test(key))
      problems.push(`${at}: keys may not contain '.', '$', ' ' or control characters`);
    if (typeof value === "string" && Buffer.byteLength(value, "utf8") > LIMITS.stringBytes)
      problems.push(`${at}: string value longer than 4 KB`);
    if (
      typeof value === "number" &&
      Number.isInteger(value) &&
      (value > LIMITS.maxInteger || value < LIMITS.minInteger)
    )
      problems.push(`${at}: integer out of range`);
    if (isObject(value)) problems.push(...twinProblems(value, at, depth + 1));
  }
  return problems;
}

/** A partial update: members added or replaced, `null` members removed, objects merged. */
export function applyPatch(target: Json, patch: Json): Json {
  const result: Json = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) Reflect.deleteProperty(result, key);
    else if (isObject(value)) result[key] = applyPatch(isObject(result[key]) ? result[key] : {}, value);
    else result[key] = value;
  }
  return result;
}

/** Problems of a section after an update: its rules and its size limit. */
export function sectionProblems(section: "tags" | "desired" | "reported", doc: Json): string[] {
  const content = Object.fromEntries(Object.entries(doc).filter(([k]) => !k.startsWith("$")));
  const problems = twinProblems(content, section === "tags" ? "tags" : `properties.${section}`);
  const limit = section === "tags" ? LIMITS.tagsBytes : LIMITS.propertiesBytes;
  const size = twinSize(content);
  if (size > limit) problems.push(`${section} would be ${String(size)} bytes; the limit is ${String(limit)}`);
  return problems;
}
