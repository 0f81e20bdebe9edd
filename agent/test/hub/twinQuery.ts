// IoT Hub's twin queries (`POST /devices/query`), parsed and run over twin documents. Sources:
// iot-hub-devguide-query-language.md ("Basics of an IoT Hub query", "SELECT clause", "GROUP BY
// clause", "FROM clause") and query-twins.md:
//   - `SELECT [TOP n] <* | projection [AS alias], …> FROM <devices | devices.modules> [WHERE c] [GROUP BY a]`;
//   - projections are attributes (`a.b.c`) or aggregates `COUNT()`, `AVG(a)`, `SUM(a)`, `MIN(a)`, `MAX(a)`;
//     `SELECT COUNT() AS n FROM devices` answers one row; with GROUP BY, one row per group;
//   - the WHERE clause is the condition language every deployment uses (agent/src/releases/condition.ts);
//   - `devices.jobs` exists too but is not modelled here (refused with a message that says so);
//   - "Query expressions can have a maximum length of 8192 characters" (query-twins.md).
// An aggregate without an alias is named `$1`, `$2`… by position, and an attribute without one by its
// last segment (`SELECT deviceId` → `deviceId`): the convention of the Cosmos DB dialect IoT Hub's
// language derives from [gk; not stated by the IoT Hub docs].
import { type Expr, parseCondition } from "../../src/releases/condition.ts";
import { type JsonValue, evaluateExpr, matches, resolvePath } from "../../src/releases/evaluate.ts";
import { canonicalJson } from "../../src/runtime/canonical.ts";

export type TwinDocument = { readonly [key: string]: JsonValue };
export type Collection = "devices" | "devices.modules";
type Aggregate = "COUNT" | "AVG" | "SUM" | "MIN" | "MAX";

export interface Projection {
  readonly alias: string;
  readonly path?: readonly string[];
  readonly aggregate?: Aggregate;
}

export interface TwinQuery {
  readonly collection: Collection;
  /** undefined for `SELECT *`. */
  readonly projections: readonly Projection[] | undefined;
  readonly top: number | undefined;
  readonly where: Expr | undefined;
  readonly groupBy: readonly string[] | undefined;
}

export const MAX_QUERY_LENGTH = 8192;

/** Offsets of the top-level clause keywords, outside quotes and `[[ ]]`. */
function clauses(text: string): Map<string, { at: number; length: number }> {
  const found = new Map<string, { at: number; length: number }>();
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === "[" && text[i + 1] === "[") i = Math.max(i, text.indexOf("]]", i) + 1);
    else if (/\s/.test(text[i - 1] ?? " ")) {
      const keyword = /^(select|from|where|group\s+by)(?=\s|$)/i.exec(text.slice(i));
      const name = keyword?.[1]?.toUpperCase().replace(/\s+/, " ");
      if (name !== undefined && !found.has(name)) found.set(name, { at: i, length: keyword![1]!.length });
    }
  }
  return found;
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

function attributePath(text: string, where: string): string[] {
  const parsed = parseCondition(text);
  if (!parsed.ok || parsed.expr.kind !== "path") throw new Error(`${where}: expected an attribute, found "${text}"`);
  return [...parsed.expr.segments];
}

function projectionOf(text: string, position: number): Projection {
  const aliased = /^(.*?)\s+as\s+([A-Za-z_$][A-Za-z0-9_$]*)$/is.exec(text);
  const element = (aliased?.[1] ?? text).trim();
  const alias = aliased?.[2];
  const call = /^(count|avg|sum|min|max)\s*\((.*)\)$/is.exec(element);
  if (call) {
    const aggregate = call[1]!.toUpperCase() as Aggregate;
    const argument = call[2]!.trim();
    if (aggregate === "COUNT" && argument !== "") throw new Error("COUNT() takes no argument");
    return {
      alias: alias ?? `$${position + 1}`,
      aggregate,
      ...(aggregate === "COUNT" ? {} : { path: attributePath(argument, `${aggregate}()`) }),
    };
  }
  const path = attributePath(element, "SELECT");
  return { alias: alias ?? path.at(-1)!, path };
}

/** Parses a query, or throws an Error whose message says what IoT Hub would refuse. */
export function parseTwinQuery(text: string, groupByOnModules: boolean): TwinQuery {
  if (text.length > MAX_QUERY_LENGTH) throw new Error(`the query is longer than ${MAX_QUERY_LENGTH} characters`);
  const padded = ` ${text.trim()}`;
  const at = clauses(padded);
  const select = at.get("SELECT")?.at;
  const from = at.get("FROM")?.at;
  const order = ["SELECT", "FROM", "WHERE", "GROUP BY"].filter((name) => at.has(name));
  const inOrder = order.every((name, i) => i === 0 || at.get(name)!.at > at.get(order[i - 1]!)!.at);
  if (select !== 1 || from === undefined || !inOrder)
    throw new Error("expected SELECT … FROM … [WHERE …] [GROUP BY …], in that order");
  const starts = [...at.values()].map((c) => c.at).sort((a, b) => a - b);
  const clause = (name: string) => {
    const found = at.get(name);
    if (found === undefined) return undefined;
    const end = starts.find((s) => s > found.at) ?? padded.length;
    return padded.slice(found.at + found.length, end).trim();
  };
  const source = clause("FROM")!;
  if (source === "devices.jobs") throw new Error("FROM devices.jobs is not modelled by the hub double");
  if (source !== "devices" && source !== "devices.modules")
    throw new Error(`FROM takes devices or devices.modules, not "${source}"`);
  let list = clause("SELECT")!;
  let top: number | undefined;
  const topMatch = /^top\s+(\d+)\s+/i.exec(list);
  if (topMatch) {
    top = Number(topMatch[1]);
    list = list.slice(topMatch[0].length);
  }
  const projections = list === "*" ? undefined : splitTopLevel(list).map(projectionOf);
  const whereText = clause("WHERE");
  let where: Expr | undefined;
  if (whereText !== undefined) {
    const parsed = parseCondition(whereText);
    if (!parsed.ok)
      throw new Error(`WHERE: ${parsed.error.message} at character ${parsed.error.position + 1} of the condition`);
    where = parsed.expr;
  }
  const groupText = clause("GROUP BY");
  const groupBy = groupText === undefined ? undefined : attributePath(groupText, "GROUP BY");
  if (groupBy && source === "devices.modules" && !groupByOnModules)
    throw new Error("GROUP BY is supported only when querying device twins (FROM devices)");
  const aggregates = projections?.filter((p) => p.aggregate !== undefined) ?? [];
  if (groupBy && (!projections || aggregates.length === 0)) throw new Error("GROUP BY needs an aggregate in SELECT");
  const plain = projections?.filter((p) => p.aggregate === undefined) ?? [];
  if (aggregates.length > 0 && !groupBy && plain.length > 0)
    throw new Error("SELECT mixes aggregates and attributes without GROUP BY");
  if (groupBy && plain.some((p) => canonicalJson(p.path ?? []) !== canonicalJson(groupBy)))
    throw new Error("with GROUP BY, SELECT may name only the grouped attribute besides aggregates");
  return { collection: source, projections, top, where, groupBy };
}

function aggregate(kind: Aggregate, path: readonly string[] | undefined, rows: readonly TwinDocument[]): JsonValue {
  if (kind === "COUNT") return rows.length;
  const numbers = rows.map((r) => resolvePath(r, path ?? [])).filter((v): v is number => typeof v === "number");
  if (numbers.length === 0) return null;
  if (kind === "SUM") return numbers.reduce((a, b) => a + b, 0);
  if (kind === "AVG") return numbers.reduce((a, b) => a + b, 0) / numbers.length;
  return kind === "MIN" ? Math.min(...numbers) : Math.max(...numbers);
}

function project(projections: readonly Projection[], rows: readonly TwinDocument[]): TwinDocument {
  const row: Record<string, JsonValue> = {};
  for (const p of projections) {
    const value = p.aggregate ? aggregate(p.aggregate, p.path, rows) : resolvePath(rows[0] ?? {}, p.path ?? []);
    if (value !== undefined) row[p.alias] = value;
  }
  return row;
}

/** Every result row, in document order (documents come sorted by device and module id). */
export function runTwinQuery(query: TwinQuery, documents: readonly TwinDocument[]): TwinDocument[] {
  const where = query.where;
  const selected = where ? documents.filter((d) => matches(where, d)) : [...documents];
  let rows: TwinDocument[];
  if (!query.projections) rows = selected;
  else if (query.groupBy) {
    const groups = new Map<string, TwinDocument[]>();
    for (const d of selected) {
      const value = evaluateExpr({ kind: "path", segments: query.groupBy }, d);
      const key = value === undefined ? "undefined" : canonicalJson(value);
      groups.set(key, [...(groups.get(key) ?? []), d]);
    }
    const projections = query.projections;
    rows = [...groups.values()].map((group) => project(projections, group));
  } else if (query.projections.some((p) => p.aggregate)) rows = [project(query.projections, selected)];
  else {
    const projections = query.projections;
    rows = selected.map((d) => project(projections, [d]));
  }
  return query.top === undefined ? rows : rows.slice(0, query.top);
}
