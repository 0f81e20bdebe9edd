import type { Expr, Literal } from "./condition.ts";

/**
 * Evaluates a parsed IoT Hub condition against one JSON document (a device twin for `FROM devices`,
 * a module twin for `FROM devices.modules`).
 *
 * Semantics from the query-language reference (`iot-hub-devguide-query-language.md`): a document is
 * selected only when the condition evaluates to Boolean `true` ("any constant different than Boolean
 * true is considered as false", null and undefined included); comparisons are supported only between
 * primitive values; `IS_DEFINED` is true for a property assigned any value, `null` included.
 * Where the reference is silent — comparing values of different types, `NOT` of a non-Boolean,
 * `AND`/`OR` with an undefined side — IoT Hub's query engine behaves like the Cosmos DB SQL dialect it
 * derives from: such comparisons are *undefined*, `NOT undefined` is undefined, `false AND x` is false
 * and `true OR x` is true. So `NOT (tags.ring = 'canary')` does not select a device without a `ring`
 * tag; write `NOT (tags.ring = 'canary') OR NOT IS_DEFINED(tags.ring)` for that.
 */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };
type Value = JsonValue | undefined;

function isPrimitive(value: Value): value is string | number | boolean | null {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function typeOf(value: string | number | boolean | null): string {
  return value === null ? "null" : typeof value;
}

type JsonObject = { readonly [key: string]: JsonValue };

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value at `segments` from the document root, or undefined when any step is missing. */
export function resolvePath(document: JsonValue, segments: readonly string[]): Value {
  let current: Value = document;
  for (const segment of segments) {
    if (!isJsonObject(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

function compare(op: string, left: Value, right: Value): boolean | undefined {
  if (!isPrimitive(left) || !isPrimitive(right)) return undefined;
  if (typeOf(left) !== typeOf(right)) return undefined;
  if (op === "=") return left === right;
  if (op === "!=") return left !== right;
  if (typeof left !== "number" && typeof left !== "string") return undefined;
  const a = left;
  const b = right as number | string;
  switch (op) {
    case "<":
      return a < b;
    case ">":
      return a > b;
    case "<=":
      return a <= b;
    default:
      return a >= b;
  }
}

function member(op: "IN" | "NIN", left: Value, items: readonly Literal[]): boolean | undefined {
  if (!isPrimitive(left)) return undefined;
  const found = items.some((item) => item !== undefined && compare("=", left, item) === true);
  return op === "IN" ? found : !found;
}

function arithmetic(op: string, left: Value, right: Value): number | undefined {
  if (typeof left !== "number" || typeof right !== "number") return undefined;
  switch (op) {
    case "+":
      return left + right;
    case "-":
      return left - right;
    case "*":
      return left * right;
    case "/":
      return right === 0 ? undefined : left / right;
    default:
      return right === 0 ? undefined : left % right;
  }
}

export function evaluateExpr(expr: Expr, document: JsonValue): Value {
  switch (expr.kind) {
    case "literal":
      return expr.value;
    case "array":
      return expr.items.filter((i): i is Exclude<Literal, undefined> => i !== undefined);
    case "path":
      return resolvePath(document, expr.segments);
    case "isDefined":
      return resolvePath(document, expr.path) !== undefined;
    case "not": {
      const value = evaluateExpr(expr.operand, document);
      return typeof value === "boolean" ? !value : undefined;
    }
    case "negate": {
      const value = evaluateExpr(expr.operand, document);
      return typeof value === "number" ? -value : undefined;
    }
    case "logical": {
      const left = evaluateExpr(expr.left, document);
      const right = evaluateExpr(expr.right, document);
      if (expr.op === "AND") {
        if (left === false || right === false) return false;
        return left === true && right === true ? true : undefined;
      }
      if (left === true || right === true) return true;
      return left === false && right === false ? false : undefined;
    }
    case "compare":
      return compare(expr.op, evaluateExpr(expr.left, document), evaluateExpr(expr.right, document));
    case "member":
      return member(expr.op, evaluateExpr(expr.left, document), expr.items);
    case "arith":
      return arithmetic(expr.op, evaluateExpr(expr.left, document), evaluateExpr(expr.right, document));
  }
}

/** Whether the document is selected: the condition is Boolean true, nothing else. */
export function matches(expr: Expr, document: JsonValue): boolean {
  return evaluateExpr(expr, document) === true;
}
