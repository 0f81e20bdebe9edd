/**
 * IoT Hub's query-language conditions: the WHERE clause of twin queries, which is also what a
 * deployment's `targetCondition` and its metric queries are. One parser for the release engine, the
 * limits policy, the rollout driver and the hub double.
 *
 * Grammar and rules from the IoT Hub query language reference
 * (MicrosoftDocs/azure-docs `articles/iot-hub/iot-hub-devguide-query-language.md`, "Expressions and
 * conditions"): operators `+ - * / %`, `AND OR NOT`, `= != <> < > <= >=`, `IN`/`NIN` with array
 * constants; the only function on twins is `IS_DEFINED`; string literals in single or double quotes
 * with `\'`, `\"`, `\\`, `\uXXXX` escapes; numbers in decimal or `0x` hexadecimal; constants `null`
 * and `undefined`. The IoT Edge deployment docs (`articles/iot-edge/module-deployment-monitoring.md`)
 * add that a quote inside a single-quoted value may be doubled (`'O''Brien'`), and the hub's own
 * queries address configuration ids with `configurations.[[id]].status`. Keywords are
 * case-insensitive; attribute names are case-sensitive, as twin keys are.
 */

export type Literal = string | number | boolean | null | undefined;

export type Expr =
  | { readonly kind: "literal"; readonly value: Literal }
  | { readonly kind: "array"; readonly items: readonly Literal[] }
  | { readonly kind: "path"; readonly segments: readonly string[] }
  | { readonly kind: "not"; readonly operand: Expr }
  | { readonly kind: "negate"; readonly operand: Expr }
  | { readonly kind: "logical"; readonly op: "AND" | "OR"; readonly left: Expr; readonly right: Expr }
  | { readonly kind: "compare"; readonly op: CompareOp; readonly left: Expr; readonly right: Expr }
  | { readonly kind: "member"; readonly op: "IN" | "NIN"; readonly left: Expr; readonly items: readonly Literal[] }
  | { readonly kind: "arith"; readonly op: "+" | "-" | "*" | "/" | "%"; readonly left: Expr; readonly right: Expr }
  | { readonly kind: "isDefined"; readonly path: readonly string[] };

export type CompareOp = "=" | "!=" | "<" | ">" | "<=" | ">=";

export interface ConditionError {
  /** 0-based character offset in the condition text. */
  readonly position: number;
  readonly message: string;
}

export type ParsedCondition =
  | { readonly ok: true; readonly expr: Expr; readonly doubleQuoted: boolean }
  | { readonly ok: false; readonly error: ConditionError };

type Token =
  | { readonly type: "number"; readonly value: number; readonly at: number }
  | { readonly type: "string"; readonly value: string; readonly quote: "'" | '"'; readonly at: number }
  | { readonly type: "word"; readonly value: string; readonly at: number }
  | { readonly type: "bracketed"; readonly value: string; readonly at: number }
  | { readonly type: "op"; readonly value: string; readonly at: number }
  | { readonly type: "end"; readonly at: number };

class SyntaxError extends Error {
  readonly position: number;
  constructor(position: number, message: string) {
    super(message);
    this.position = position;
  }
}

const WORD = /[A-Za-z0-9_$@#-]/;
const WORD_START = /[A-Za-z_$@#]/;
const OPERATORS = ["<=", ">=", "!=", "<>", "=", "<", ">", "(", ")", "[", "]", ",", ".", "+", "-", "*", "/", "%"];

function readString(text: string, start: number): { value: string; end: number } {
  const quote = text[start]!;
  let value = "";
  let i = start + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") {
        value += "'";
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    if (c === "\\") {
      const next = text[i + 1];
      if (next === "'" || next === '"' || next === "\\") {
        value += next;
        i += 2;
        continue;
      }
      if (next === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        value += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
        continue;
      }
      throw new SyntaxError(
        i,
        `unsupported escape ${JSON.stringify(text.slice(i, i + 2))} (allowed: \\' \\" \\\\ \\uXXXX)`,
      );
    }
    value += c;
    i++;
  }
  throw new SyntaxError(start, "unterminated string");
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      const { value, end } = readString(text, i);
      tokens.push({ type: "string", value, quote: c, at: i });
      i = end;
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(text[i + 1] ?? ""))) {
      const hex = /^0[xX][0-9a-fA-F]+/.exec(text.slice(i));
      const dec = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i));
      const raw = hex?.[0] ?? dec![0];
      if (WORD.test(text[i + raw.length] ?? "") && !/[-]/.test(text[i + raw.length] ?? "")) {
        throw new SyntaxError(i, `malformed number ${JSON.stringify(text.slice(i, i + raw.length + 1))}`);
      }
      tokens.push({ type: "number", value: hex ? Number.parseInt(raw.slice(2), 16) : Number(raw), at: i });
      i += raw.length;
    } else if (c === "[" && text[i + 1] === "[") {
      const close = text.indexOf("]]", i + 2);
      if (close < 0) throw new SyntaxError(i, "unterminated [[ … ]]");
      tokens.push({ type: "bracketed", value: text.slice(i + 2, close), at: i });
      i = close + 2;
    } else if (WORD_START.test(c)) {
      let end = i + 1;
      // A '-' continues a word only when a word character follows (deviceId-like tag names are
      // rare; `a-b` in arithmetic is written with spaces in every documented example).
      while (end < text.length && WORD.test(text[end]!)) end++;
      tokens.push({ type: "word", value: text.slice(i, end), at: i });
      i = end;
    } else {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (op === undefined) throw new SyntaxError(i, `unexpected character ${JSON.stringify(c)}`);
      tokens.push({ type: "op", value: op, at: i });
      i += op.length;
    }
  }
  tokens.push({ type: "end", at: text.length });
  return tokens;
}

const KEYWORDS = new Set(["AND", "OR", "NOT", "IN", "NIN", "TRUE", "FALSE", "NULL", "UNDEFINED"]);

class Parser {
  private index = 0;
  doubleQuoted = false;
  private readonly tokens: readonly Token[];
  constructor(tokens: readonly Token[]) {
    this.tokens = tokens;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }
  private next(): Token {
    return this.tokens[this.index++]!;
  }
  private isWord(word: string): boolean {
    const t = this.peek();
    return t.type === "word" && t.value.toUpperCase() === word;
  }
  private isOp(op: string): boolean {
    const t = this.peek();
    return t.type === "op" && t.value === op;
  }
  private expectOp(op: string): void {
    const t = this.next();
    if (t.type !== "op" || t.value !== op) throw new SyntaxError(t.at, `expected "${op}", found ${describe(t)}`);
  }

  parse(): Expr {
    if (this.peek().type === "end") throw new SyntaxError(0, "empty condition");
    const expr = this.or();
    const t = this.peek();
    if (t.type !== "end") throw new SyntaxError(t.at, `unexpected ${describe(t)}`);
    return expr;
  }

  private or(): Expr {
    let left = this.and();
    while (this.isWord("OR")) {
      this.next();
      left = { kind: "logical", op: "OR", left, right: this.and() };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.isWord("AND")) {
      this.next();
      left = { kind: "logical", op: "AND", left, right: this.not() };
    }
    return left;
  }

  private not(): Expr {
    if (this.isWord("NOT")) {
      this.next();
      return { kind: "not", operand: this.not() };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.additive();
    const t = this.peek();
    if (t.type === "op" && ["=", "!=", "<>", "<", ">", "<=", ">="].includes(t.value)) {
      this.next();
      const op = (t.value === "<>" ? "!=" : t.value) as CompareOp;
      return { kind: "compare", op, left, right: this.additive() };
    }
    if (this.isWord("IN") || this.isWord("NIN")) {
      const op = (this.next() as { value: string }).value.toUpperCase() === "IN" ? "IN" : "NIN";
      return { kind: "member", op, left, items: this.arrayConstant() };
    }
    return left;
  }

  private additive(): Expr {
    let left = this.multiplicative();
    while (this.isOp("+") || this.isOp("-")) {
      const op = (this.next() as { value: "+" | "-" }).value;
      left = { kind: "arith", op, left, right: this.multiplicative() };
    }
    return left;
  }

  private multiplicative(): Expr {
    let left = this.unary();
    while (this.isOp("*") || this.isOp("/") || this.isOp("%")) {
      const op = (this.next() as { value: "*" | "/" | "%" }).value;
      left = { kind: "arith", op, left, right: this.unary() };
    }
    return left;
  }

  private unary(): Expr {
    if (this.isOp("-")) {
      this.next();
      return { kind: "negate", operand: this.unary() };
    }
    return this.primary();
  }

  private literalOf(t: Token): Literal | typeof NOT_LITERAL {
    if (t.type === "number") return t.value;
    if (t.type === "string") {
      if (t.quote === '"') this.doubleQuoted = true;
      return t.value;
    }
    if (t.type === "word") {
      switch (t.value.toUpperCase()) {
        case "TRUE":
          return true;
        case "FALSE":
          return false;
        case "NULL":
          return null;
        case "UNDEFINED":
          return undefined;
      }
    }
    return NOT_LITERAL;
  }

  private arrayConstant(): Literal[] {
    this.expectOp("[");
    const items: Literal[] = [];
    if (this.isOp("]")) {
      this.next();
      return items;
    }
    for (;;) {
      let t = this.next();
      let sign = 1;
      if (t.type === "op" && t.value === "-") {
        sign = -1;
        t = this.next();
      }
      const value = this.literalOf(t);
      if (value === NOT_LITERAL || (sign < 0 && typeof value !== "number")) {
        throw new SyntaxError(t.at, `array items must be constants, found ${describe(t)}`);
      }
      items.push(typeof value === "number" ? sign * value : value);
      if (this.isOp(",")) {
        this.next();
        continue;
      }
      this.expectOp("]");
      return items;
    }
  }

  private primary(): Expr {
    const t = this.peek();
    if (t.type === "op" && t.value === "(") {
      this.next();
      const inner = this.or();
      this.expectOp(")");
      return inner;
    }
    if (t.type === "op" && t.value === "[") return { kind: "array", items: this.arrayConstant() };
    const literal = this.literalOf(t);
    if (literal !== NOT_LITERAL) {
      this.next();
      return { kind: "literal", value: literal };
    }
    if (t.type === "word" && !KEYWORDS.has(t.value.toUpperCase())) {
      this.next();
      if (this.isOp("(")) return this.call(t);
      return { kind: "path", segments: this.pathFrom(t.value) };
    }
    throw new SyntaxError(t.at, `expected a value, an attribute or "(", found ${describe(t)}`);
  }

  private pathFrom(first: string): string[] {
    const segments = [first];
    while (this.isOp(".")) {
      this.next();
      const t = this.next();
      if (t.type === "word" || t.type === "bracketed") segments.push(t.value);
      else throw new SyntaxError(t.at, `expected an attribute name after ".", found ${describe(t)}`);
    }
    return segments;
  }

  private call(name: Token & { type: "word" }): Expr {
    const fn = name.value.toUpperCase();
    this.expectOp("(");
    if (fn !== "IS_DEFINED") {
      throw new SyntaxError(name.at, `unsupported function ${name.value}: twin queries support only IS_DEFINED`);
    }
    const arg = this.next();
    if (arg.type !== "word") throw new SyntaxError(arg.at, `IS_DEFINED takes an attribute, found ${describe(arg)}`);
    const path = this.pathFrom(arg.value);
    this.expectOp(")");
    return { kind: "isDefined", path };
  }
}

const NOT_LITERAL = Symbol("not a literal");

function describe(t: Token): string {
  switch (t.type) {
    case "end":
      return "the end of the condition";
    case "string":
      return `string ${JSON.stringify(t.value)}`;
    case "bracketed":
      return `[[${t.value}]]`;
    default:
      return `"${String(t.value)}"`;
  }
}

/** Parses a condition; errors carry the character position and a message a person can act on. */
export function parseCondition(text: string): ParsedCondition {
  try {
    const parser = new Parser(tokenize(text));
    const expr = parser.parse();
    return { ok: true, expr, doubleQuoted: parser.doubleQuoted };
  } catch (error) {
    if (error instanceof SyntaxError) return { ok: false, error: { position: error.position, message: error.message } };
    throw error;
  }
}

/** Every attribute path the condition reads, as dotted strings (for field checks). */
export function attributePaths(expr: Expr): string[][] {
  switch (expr.kind) {
    case "path":
      return [[...expr.segments]];
    case "isDefined":
      return [[...expr.path]];
    case "not":
    case "negate":
      return attributePaths(expr.operand);
    case "logical":
    case "compare":
    case "arith":
      return [...attributePaths(expr.left), ...attributePaths(expr.right)];
    case "member":
      return attributePaths(expr.left);
    case "literal":
    case "array":
      return [];
  }
}

/** Quotes a value as a single-quoted string literal: backslashes escaped, quotes doubled (as the Edge docs show). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

const TARGET_ROOTS = new Set(["deviceId", "tags", "properties", "capabilities"]);

/**
 * What IoT Hub accepts in a deployment's target condition, beyond the grammar: single quotes only
 * (IoT Edge deployment docs) and only `deviceId`, `tags.*`, `properties.reported.*` and
 * `capabilities.iotEdge` (the fields the hub's targeting query reads; ROLLOUT.md §A1).
 * Returns a message, or undefined when the condition is acceptable.
 */
export function targetConditionProblem(text: string): string | undefined {
  const parsed = parseCondition(text);
  if (!parsed.ok) return `${parsed.error.message} at character ${parsed.error.position + 1}`;
  if (parsed.doubleQuoted) return "IoT Edge target conditions take single-quoted strings only";
  for (const path of attributePaths(parsed.expr)) {
    const [root, second] = path;
    const allowed =
      root !== undefined &&
      TARGET_ROOTS.has(root) &&
      (root !== "tags" || path.length > 1) &&
      (root !== "properties" || (second === "reported" && path.length > 2)) &&
      (root !== "capabilities" || (second === "iotEdge" && path.length === 2)) &&
      (root !== "deviceId" || path.length === 1);
    if (!allowed) {
      return `${path.join(".")}: a target condition may read only deviceId, tags.*, properties.reported.* and capabilities.iotEdge`;
    }
  }
  return undefined;
}
