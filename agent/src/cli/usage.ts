import { parseArgs, type ParseArgsConfig } from "node:util";

/** A mistake in how the command was called: exit 2, one line, no stack trace. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A problem the user must fix in their input: exit 1 after the lines are printed. */
export class InputError extends Error {
  override readonly name = "InputError";
  readonly lines: readonly string[];
  constructor(lines: readonly string[]) {
    super(lines.join("\n"));
    this.lines = lines;
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** `util.parseArgs` in strict mode, its errors turned into one-line usage errors. */
export function parseCommandArgs<T extends Options>(args: readonly string[], options: T) {
  try {
    return parseArgs({
      args: [...args],
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const message = (error as Error).message.split("\n")[0] ?? "invalid arguments";
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/, ""));
  }
}

export function requireOne(positionals: readonly string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`);
  if (positionals.length > 1)
    throw new UsageError(`expected one ${what}, got ${positionals.length}: ${positionals.join(" ")}`);
  return positionals[0]!;
}

export function requireString(value: string | boolean | undefined, flag: string): string {
  if (typeof value !== "string" || value === "") throw new UsageError(`missing required flag --${flag}`);
  return value;
}

export function oneOf<T extends string>(
  value: string | boolean | undefined,
  flag: string,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag} must be one of ${allowed.join(", ")}, got "${String(value)}"`);
  }
  return value as T;
}

/** A flag holding a whole number of at least 1; undefined when the flag is absent. */
export function positiveInt(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`--${flag} must be a positive whole number, got "${String(value)}"`);
  return Number(value);
}
