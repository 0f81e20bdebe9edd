/**
 * Parses a createOptions string as the IoT Edge agent does. It reads createOptions with
 * Newtonsoft.Json (DockerConfig.GetCreateOptions → JsonConvert.DeserializeObject), whose reader
 * (JsonTextReader) also takes what strict JSON does not: property names without quotes, strings
 * in single quotes, comments and trailing commas. Strict JSON is tried first; the tolerant reader
 * only runs when it fails, and says so (`lenient`), so the user can be told.
 */
export type JsonResult = { readonly value: unknown; readonly lenient: boolean } | { readonly error: string };

export function parseRuntimeJson(text: string): JsonResult {
  try {
    return { value: JSON.parse(text) as unknown, lenient: false };
  } catch (strictError) {
    try {
      return { value: new TolerantReader(text).document(), lenient: true };
    } catch (error) {
      return { error: error instanceof TolerantError ? error.message : (strictError as Error).message };
    }
  }
}

class TolerantError extends Error {}

/** Newtonsoft's unquoted property names: letters, digits, `_` and `$` (JsonTextReader.ParseUnquotedProperty). */
const NAME_CHAR = /[\p{L}\p{N}_$]/u;

class TolerantReader {
  private pos = 0;
  private readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  document(): unknown {
    const value = this.value();
    this.space();
    if (this.pos < this.text.length) this.fail("unexpected text after the end of the value");
    return value;
  }

  private fail(message: string): never {
    const before = this.text.slice(0, this.pos);
    const line = before.split("\n").length;
    const column = this.pos - before.lastIndexOf("\n");
    throw new TolerantError(`${message} at line ${line} column ${column}`);
  }

  private space(): void {
    for (;;) {
      const rest = this.text.slice(this.pos);
      const match = /^(\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/)/.exec(rest);
      if (!match) return;
      this.pos += match[0].length;
    }
  }

  private value(): unknown {
    this.space();
    const c = this.text[this.pos];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"' || c === "'") return this.string();
    const literal = /^(true|false|null|undefined|-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)/.exec(this.text.slice(this.pos));
    if (!literal) this.fail(c === undefined ? "unexpected end of text" : `unexpected character '${c}'`);
    this.pos += literal[0].length;
    const word = literal[0];
    if (word === "true" || word === "false") return word === "true";
    if (word === "null" || word === "undefined") return null;
    return Number(word);
  }

  private string(): string {
    const quote = this.text[this.pos]!;
    let out = "";
    this.pos++;
    for (;;) {
      const c = this.text[this.pos++];
      if (c === undefined) this.fail("unterminated string");
      if (c === quote) return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const escaped = this.text[this.pos++];
      const simple: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (escaped === "u") {
        const hex = this.text.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("bad \\u escape");
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 4;
      } else if (escaped !== undefined) out += simple[escaped] ?? escaped;
    }
  }

  private name(): string {
    this.space();
    const c = this.text[this.pos];
    if (c === '"' || c === "'") return this.string();
    const start = this.pos;
    while (this.pos < this.text.length && NAME_CHAR.test(this.text[this.pos]!)) this.pos++;
    if (this.pos === start) this.fail(`expected a property name, found '${c ?? "end of text"}'`);
    return this.text.slice(start, this.pos);
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++;
    for (;;) {
      this.space();
      if (this.text[this.pos] === "}") {
        this.pos++;
        return out;
      }
      const key = this.name();
      this.space();
      if (this.text[this.pos] !== ":") this.fail(`expected ':' after property name "${key}"`);
      this.pos++;
      out[key] = this.value();
      this.space();
      const c = this.text[this.pos];
      if (c === ",") this.pos++;
      else if (c !== "}") this.fail("expected ',' or '}'");
    }
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.pos++;
    for (;;) {
      this.space();
      if (this.text[this.pos] === "]") {
        this.pos++;
        return out;
      }
      out.push(this.value());
      this.space();
      const c = this.text[this.pos];
      if (c === ",") this.pos++;
      else if (c !== "]") this.fail("expected ',' or ']'");
    }
  }
}
