/**
 * edgeHub's route grammar, from Azure/iotedge
 * edge-hub/core/src/Microsoft.Azure.Devices.Routing.Core/grammar/Route.g4 (with GrammarLexer.g4):
 *
 *   route := [SELECT '*'] FROM source [WHERE condition] INTO sink
 *   source := ('/' ('*' | ID))+
 *   sink := '$' QUERY_PATH | ID '(' STRING ')'
 *
 * Keywords are case-insensitive, strings take double or single quotes with `\` escapes. edgeHub's
 * EndpointFactory (edge-hub/core/src/Microsoft.Azure.Devices.Edge.Hub.Core/routing/EndpointFactory.cs)
 * accepts the sinks `$upstream` and `BrokeredEndpoint("/modules/<id>/inputs/<input>")` (both names
 * case-insensitive; the address has four `/`-separated parts). The condition is checked for balanced
 * quotes and parentheses only; edgeHub parses its expression language itself.
 */
export type RouteCheck = { readonly ok: true } | { readonly ok: false; readonly message: string };

interface Token {
  readonly text: string;
  readonly kind: "word" | "string" | "punct";
  readonly at: number;
}

const EXPECTED = 'expected "FROM <source> [WHERE <condition>] INTO <sink>"';

function tokenize(route: string): Token[] | string {
  const tokens: Token[] = [];
  let i = 0;
  while (i < route.length) {
    const c = route[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (route.startsWith("/*", i) && route.indexOf("*/", i + 2) !== -1) {
      // The lexer's COMMENT rule: the longest match wins over '/', as in ANTLR.
      i = route.indexOf("*/", i + 2) + 2;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < route.length && route[j] !== c) j += route[j] === "\\" ? 2 : 1;
      if (j >= route.length) return `unterminated string starting at position ${i + 1}`;
      tokens.push({ text: route.slice(i, j + 1), kind: "string", at: i });
      i = j + 1;
    } else if ("()<>@,;:\\/[]?={}*".includes(c) || c === "\t") {
      tokens.push({ text: c, kind: "punct", at: i });
      i++;
    } else {
      let j = i;
      while (j < route.length && !/[\s()<>@,;:\\"/?={}']/.test(route[j]!)) j++;
      if (j === i) j = i + 1;
      tokens.push({ text: route.slice(i, j), kind: "word", at: i });
      i = j;
    }
  }
  return tokens;
}

const isKeyword = (token: Token | undefined, word: string) =>
  token?.kind === "word" && token.text.toUpperCase() === word;

function checkSource(tokens: readonly Token[]): string | undefined {
  if (tokens.length === 0) return "the source is missing after FROM";
  for (let i = 0; i < tokens.length; i += 2) {
    const slash = tokens[i];
    const item = tokens[i + 1];
    if (slash?.text !== "/" || item === undefined || (item.text !== "*" && item.kind !== "word")) {
      return `the source "${tokens.map((t) => t.text).join("")}" is not a path such as /messages/modules/<id>/outputs/*`;
    }
  }
  return undefined;
}

function checkCondition(tokens: readonly Token[]): string | undefined {
  if (tokens.length === 0) return "the condition is missing after WHERE";
  let depth = 0;
  for (const token of tokens) {
    if (token.text === "(") depth++;
    if (token.text === ")") depth--;
    if (depth < 0) return "the condition has a ')' without its '('";
  }
  return depth === 0 ? undefined : "the condition has a '(' without its ')'";
}

function checkSink(tokens: readonly Token[]): string | undefined {
  const text = tokens.map((t) => t.text).join("");
  if (tokens.length === 1 && tokens[0]!.text.toLowerCase() === "$upstream") return undefined;
  const [fn, open, address, close] = tokens;
  if (
    tokens.length === 4 &&
    fn?.kind === "word" &&
    open?.text === "(" &&
    address?.kind === "string" &&
    close?.text === ")"
  ) {
    if (fn.text.toLowerCase() !== "brokeredendpoint") {
      return `the sink "${fn.text}(…)" is not supported: edgeHub knows $upstream and BrokeredEndpoint("/modules/<id>/inputs/<input>")`;
    }
    const parts = address.text.slice(1, -1).trim().replace(/^\//, "").replace(/\/$/, "").split("/");
    if (parts.length !== 4 || parts.some((p) => p === "")) {
      return `BrokeredEndpoint(${address.text}) is not "/modules/<id>/inputs/<input>"`;
    }
    return undefined;
  }
  return `the sink "${text}" is not $upstream or BrokeredEndpoint("/modules/<id>/inputs/<input>")`;
}

export function checkRoute(route: string): RouteCheck {
  const tokens = tokenize(route);
  if (typeof tokens === "string") return { ok: false, message: `is not a route: ${tokens}` };
  let rest = tokens;
  if (isKeyword(rest[0], "SELECT")) {
    if (rest[1]?.text !== "*")
      return { ok: false, message: `is not a route: SELECT must be followed by *; ${EXPECTED}` };
    rest = rest.slice(2);
  }
  if (!isKeyword(rest[0], "FROM")) return { ok: false, message: `is not a route: ${EXPECTED}` };
  const into = rest.findLastIndex((t) => isKeyword(t, "INTO"));
  if (into === -1) return { ok: false, message: `is not a route: INTO <sink> is missing; ${EXPECTED}` };
  const where = rest.findIndex((t, i) => i < into && isKeyword(t, "WHERE"));
  const source = rest.slice(1, where === -1 ? into : where);
  const problem =
    checkSource(source) ??
    (where === -1 ? undefined : checkCondition(rest.slice(where + 1, into))) ??
    checkSink(rest.slice(into + 1));
  return problem === undefined ? { ok: true } : { ok: false, message: `is not a route: ${problem}` };
}
