import type { JsonValue } from "./evaluate.ts";

/**
 * IoT Hub's twin document rules (`articles/iot-hub/iot-hub-devguide-device-twins.md`, "Tags and
 * properties format" and "Device twin size"):
 * - size: for each property the length of its key plus its value; keys and string values as UTF-8
 *   strings, counting every character except Unicode control characters (C0 and C1); numbers 8 bytes,
 *   Booleans 4; objects the sum of what they contain. `tags` ≤ 8 KB, `properties/desired` and
 *   `properties/reported` ≤ 32 KB each, read-only `$version`/`$metadata` excluded.
 * - keys ≤ 1 KB, without control characters, `.`, `$` or space; string values ≤ 4 KB; depth ≤ 10;
 *   integers within ±4503599627370495 (the minimum is −4503599627370496).
 * "Length" of a UTF-8 string is read here as its UTF-8 byte count, which is never smaller than its
 * character count, so a document this accepts is within the hub's limit either way. `null` counts 0
 * (the docs list no size for it) and array items count as values.
 */
export const TWIN_LIMITS = {
  tagsBytes: 8 * 1024,
  desiredBytes: 32 * 1024,
  reportedBytes: 32 * 1024,
  keyBytes: 1024,
  stringBytes: 4 * 1024,
  depth: 10,
  maxInteger: 4503599627370495,
  minInteger: -4503599627370496,
} as const;

function isControl(codePoint: number): boolean {
  return codePoint <= 0x1f || (codePoint >= 0x7f && codePoint <= 0x9f);
}

function hasControlCharacter(text: string): boolean {
  for (const char of text) if (isControl(char.codePointAt(0)!)) return true;
  return false;
}

/** UTF-8 bytes of the string without its control characters. */
export function stringSize(text: string): number {
  let size = 0;
  for (const char of text) {
    const codePoint = char.codePointAt(0)!;
    if (!isControl(codePoint)) size += codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
  }
  return size;
}

function valueSize(value: JsonValue): number {
  if (value === null) return 0;
  if (typeof value === "string") return stringSize(value);
  if (typeof value === "number") return 8;
  if (typeof value === "boolean") return 4;
  if (Array.isArray(value))
    return (value as readonly JsonValue[]).reduce<number>((sum, item) => sum + valueSize(item), 0);
  return documentSize(value as { readonly [key: string]: JsonValue });
}

/** The size IoT Hub counts for a tags / desired / reported document (`$`-keys excluded). */
export function documentSize(document: { readonly [key: string]: JsonValue }): number {
  let size = 0;
  for (const [key, value] of Object.entries(document)) {
    if (key.startsWith("$")) continue;
    size += stringSize(key) + valueSize(value);
  }
  return size;
}

export interface TwinProblem {
  /** Dotted path of the offending key or value below the document root. */
  readonly path: string;
  readonly message: string;
}

/**
 * Key, value and depth problems of a document the hub would refuse. `allowDottedKeysAtRoot` is for
 * a deployment's `modulesContent`, whose layer keys are dot paths (`properties.desired.modules.x`).
 */
export function twinDocumentProblems(
  document: { readonly [key: string]: JsonValue },
  options: { readonly allowDottedKeysAtRoot?: boolean } = {},
): TwinProblem[] {
  const problems: TwinProblem[] = [];
  const walk = (value: JsonValue, path: string, depth: number, isRoot: boolean): void => {
    if (typeof value === "string") {
      if (stringSize(value) > TWIN_LIMITS.stringBytes) {
        problems.push({ path, message: `string value is ${stringSize(value)} bytes; IoT Hub allows 4 KB` });
      }
      return;
    }
    if (typeof value === "number") {
      if (Number.isInteger(value) && (value > TWIN_LIMITS.maxInteger || value < TWIN_LIMITS.minInteger)) {
        problems.push({ path, message: `integer ${value} is outside IoT Hub's range ±4503599627370495` });
      }
      return;
    }
    if (value === null || typeof value === "boolean") return;
    if (depth > TWIN_LIMITS.depth) {
      problems.push({ path, message: `nested deeper than IoT Hub's ${TWIN_LIMITS.depth} levels` });
      return;
    }
    if (Array.isArray(value)) {
      (value as readonly JsonValue[]).forEach((item, i) => {
        walk(item, `${path}[${i}]`, depth + 1, false);
      });
      return;
    }
    for (const [key, child] of Object.entries(value as { readonly [key: string]: JsonValue })) {
      const childPath = path === "" ? key : `${path}.${key}`;
      const dotsAllowed = isRoot && options.allowDottedKeysAtRoot === true;
      if (key.startsWith("$") && ["$version", "$metadata"].includes(key)) continue;
      if (stringSize(key) > TWIN_LIMITS.keyBytes)
        problems.push({ path: childPath, message: "key is longer than 1 KB" });
      if (hasControlCharacter(key) || /[ $]/.test(key) || (!dotsAllowed && key.includes("."))) {
        problems.push({
          path: childPath,
          message: "key contains a character IoT Hub refuses ('.', '$', space or a control character)",
        });
      }
      walk(child, childPath, depth + 1, false);
    }
  };
  walk(document, "", 0, true);
  return problems;
}
