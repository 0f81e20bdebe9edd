import type { Infer, Shape } from "./shape.ts";
import type { JsonPath } from "../issues.ts";
import { k8sTypeShape } from "../k8s/types.ts";

/** Where `read` reports what it finds: problems (the input is refused) and warnings (it is not). */
export interface ReadSink {
  issue(path: JsonPath, message: string): void;
  warning(path: JsonPath, message: string): void;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Nothing is lost by ignoring it: absent, empty or the zero value. */
export function isEmptyValue(value: unknown): boolean {
  if (value === null || value === undefined || value === "" || value === false || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isRecord(value) && Object.keys(value).length === 0;
}

/** .NET's Convert.ToInt64(double): to the nearest whole number, halves to the even one. */
function roundHalfEven(n: number): number {
  const floor = Math.floor(n);
  const diff = n - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;
const NUMBER_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
/** Kubernetes' resource.Quantity grammar: a decimal number with a binary, decimal or exponent suffix. */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

function typeName(value: unknown): string {
  return Array.isArray(value)
    ? "a list"
    : value === null
      ? "null"
      : typeof value === "object"
        ? "an object"
        : `${typeof value} ${JSON.stringify(value)}`;
}

/** "onunhealthy" and "OnUnhealthy" both name "on-unhealthy": Newtonsoft matches enum names case-insensitively. */
function enumKey(text: string): string {
  return text.trim().toLowerCase().replaceAll("-", "");
}

/**
 * Reads `value` as `shape` the way the IoT Edge agent's JSON reader (Newtonsoft.Json) reads its
 * typed models, so that whatever the runtime accepts is accepted here:
 * - object keys match exactly, else case-insensitively (JsonPropertyCollection.GetClosestMatchProperty);
 *   a key given twice (`Cmd` and `cmd`) keeps the last, as Newtonsoft overwrites;
 * - booleans: `true`, `"true"`/`"False"` (bool.TryParse, JsonReader.ReadBooleanString), numbers (≠ 0);
 * - whole numbers: numbers (a fraction rounds half to even, Convert.ChangeType) and numeric strings;
 * - strings: numbers and booleans become their text (JsonReader.ReadAsString);
 * - enums: case-insensitive, by value or member name (EnumUtils.ParseEnum);
 * - `null` anywhere means absent; an empty string is absent where a value type is expected
 *   (JsonSerializerInternalReader.CoerceEmptyStringToNull).
 * Docker's StrSlice (Cmd, Entrypoint) also takes one string, as a one-element list (Docker's strslice).
 * Returns undefined where the value cannot be read (the problem is reported to `sink`).
 */
export function read<S extends Shape>(value: unknown, shape: S, path: JsonPath, sink: ReadSink): Infer<S> | undefined {
  return readAny(value, shape, path, sink) as Infer<S> | undefined;
}

function readAny(value: unknown, shape: Shape, path: JsonPath, sink: ReadSink): unknown {
  if (value === null || value === undefined) return undefined;
  switch (shape.kind) {
    case "json":
      return value;
    case "boolean":
      if (typeof value === "boolean") return value;
      if (typeof value === "number") return value !== 0;
      if (typeof value === "string") {
        const text = value.trim().toLowerCase();
        if (text === "") return undefined;
        if (text === "true" || text === "false") return text === "true";
      }
      sink.issue(path, `must be true or false, not ${typeName(value)}`);
      return undefined;
    case "integer": {
      let n: number | undefined;
      if (typeof value === "number") n = roundHalfEven(value);
      else if (typeof value === "boolean") n = value ? 1 : 0;
      else if (typeof value === "string" && value.trim() === "") return undefined;
      else if (typeof value === "string" && INTEGER_TEXT.test(value)) n = Number(value.trim());
      if (n === undefined || !Number.isSafeInteger(n)) {
        sink.issue(path, `must be a whole number, not ${typeName(value)}`);
        return undefined;
      }
      if (shape.min !== undefined && n < shape.min) sink.issue(path, `must be at least ${shape.min}, not ${n}`);
      else if (shape.max !== undefined && n > shape.max) sink.issue(path, `must be at most ${shape.max}, not ${n}`);
      else return n;
      return undefined;
    }
    case "number":
      if (typeof value === "number") return value;
      if (typeof value === "string" && value.trim() === "") return undefined;
      if (typeof value === "string" && NUMBER_TEXT.test(value)) return Number(value.trim());
      sink.issue(path, `must be a number, not ${typeName(value)}`);
      return undefined;
    case "string":
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
        const text = String(value);
        if (shape.nonEmpty === true && text.trim() === "") {
          sink.issue(path, "must not be empty");
          return undefined;
        }
        return text;
      }
      sink.issue(path, `must be a string, not ${typeName(value)}`);
      return undefined;
    case "enum": {
      if (typeof value === "string" || typeof value === "number") {
        const wanted = enumKey(String(value));
        const match = shape.values.find((v) => enumKey(v) === wanted);
        if (match !== undefined) return match;
      }
      sink.issue(path, `must be one of ${shape.values.map((v) => `"${v}"`).join(", ")}, not ${typeName(value)}`);
      return undefined;
    }
    case "quantity":
      if ((typeof value === "string" || typeof value === "number") && QUANTITY.test(String(value).trim())) {
        return String(value).trim();
      }
      sink.issue(path, `must be a Kubernetes quantity such as 250m, 2 or 512Mi, not ${typeName(value)}`);
      return undefined;
    case "intOrString":
      if (typeof value === "number" && Number.isInteger(value)) return value;
      if (typeof value === "string" && /^\s*\d+\s*$/.test(value)) return Number(value.trim());
      if (typeof value === "string" && /^\s*\d+%\s*$/.test(value)) return value.trim();
      sink.issue(path, `must be a whole number or a percentage such as "25%", not ${typeName(value)}`);
      return undefined;
    case "list": {
      if (shape.single === true && typeof value === "string") return [value];
      if (!Array.isArray(value)) {
        sink.issue(path, `must be a list, not ${typeName(value)}`);
        return undefined;
      }
      const items: unknown[] = [];
      value.forEach((item, i) => {
        const read = readAny(item, shape.of, [...path, i], sink);
        if (read !== undefined) items.push(read);
      });
      return items;
    }
    case "map": {
      if (!isRecord(value)) {
        sink.issue(path, `must be an object, not ${typeName(value)}`);
        return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const read = readAny(item, shape.of, [...path, key], sink);
        if (read !== undefined) out[key] = read;
      }
      return out;
    }
    case "k8s":
      return readAny(value, k8sTypeShape(shape.type), path, sink);
    case "object":
      return readObject(value, shape, path, sink);
  }
}

/** Each object shape's field names by lower case, made once per shape. */
const lowerCaseNames = new WeakMap<object, ReadonlyMap<string, string>>();

function fieldsByLowerCase(shape: Extract<Shape, { kind: "object" }>): ReadonlyMap<string, string> {
  let names = lowerCaseNames.get(shape);
  if (!names) {
    names = new Map(Object.keys(shape.fields).map((name) => [name.toLowerCase(), name]));
    lowerCaseNames.set(shape, names);
  }
  return names;
}

function readObject(
  value: unknown,
  shape: Extract<Shape, { kind: "object" }>,
  path: JsonPath,
  sink: ReadSink,
): Record<string, unknown> | undefined {
  if (!isRecord(value)) {
    sink.issue(path, `must be an object, not ${typeName(value)}`);
    return undefined;
  }
  const byLowerCase = fieldsByLowerCase(shape);
  const out = new Map<string, unknown>();
  const givenAs = new Map<string, string>();
  for (const [key, item] of Object.entries(value)) {
    const name = key in shape.fields ? key : byLowerCase.get(key.toLowerCase());
    const at = [...path, key];
    if (name === undefined) {
      if (shape.unknown === "error") sink.issue(at, "is not a field of this object");
      else if (!isEmptyValue(item)) {
        sink.warning(at, shape.unknown.hint?.(key) ?? "is not a field the runtime reads; ignored");
      }
      continue;
    }
    const field = shape.fields[name]!;
    const earlier = givenAs.get(name);
    if (earlier !== undefined) sink.warning(at, `also given as "${earlier}"; the last one wins, as on IoT Edge`);
    givenAs.set(name, key);
    if (field.note !== undefined) {
      if (!isEmptyValue(item)) sink.warning(at, field.note);
      continue;
    }
    const read = readAny(item, field, at, sink);
    if (read === undefined) out.delete(name);
    else out.set(name, read);
  }
  for (const name of shape.required ?? []) {
    const given = givenAs.get(name);
    if (given === undefined || value[given] === null) sink.issue([...path, given ?? name], "is required");
  }
  return Object.fromEntries(out);
}
