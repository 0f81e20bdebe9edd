/**
 * Shapes: a small description of the JSON the IoT Edge runtime reads (module settings, Docker's
 * container-create body, Kubernetes objects in `k8s-experimental`), from which `read` makes typed
 * values the way the runtime's JSON reader does (see read.ts for the rules and their sources).
 * One description gives both the reader and the TypeScript type (`Infer`).
 */

/** Why a known field is not used on Kubernetes: it is read (and reported with its path), not validated. */
export interface Note {
  readonly note?: string;
}

export type Shape =
  | ({ readonly kind: "boolean" } & Note)
  | ({ readonly kind: "integer"; readonly min?: number; readonly max?: number } & Note)
  | ({ readonly kind: "number" } & Note)
  | ({ readonly kind: "string"; readonly nonEmpty?: boolean } & Note)
  | ({ readonly kind: "enum"; readonly values: readonly string[] } & Note)
  | ({ readonly kind: "list"; readonly of: Shape; readonly single?: boolean } & Note)
  | ({ readonly kind: "map"; readonly of: Shape } & Note)
  | ({
      readonly kind: "object";
      readonly fields: Readonly<Record<string, Shape>>;
      readonly unknown: UnknownPolicy;
      /** Fields that must be given (Kubernetes models; the API refuses an object without them). */
      readonly required?: readonly string[];
    } & Note)
  | ({ readonly kind: "json" } & Note)
  | ({ readonly kind: "k8s"; readonly type: string } & Note)
  | ({ readonly kind: "quantity" } & Note)
  | ({ readonly kind: "intOrString" } & Note);

/**
 * What an object does with a key it does not know:
 * - `warn`: keep reading, report the key as ignored (Docker and the IoT Edge agent ignore unknown keys);
 * - `error`: refuse it (the Kubernetes API server refuses unknown fields in a server-side apply);
 * - `keep`: keep it as it is, unreported (a map of free-form data).
 */
export type UnknownPolicy = { readonly kind: "warn"; readonly hint?: (key: string) => string | undefined } | "error";

type FieldsOf<F> = { -readonly [K in keyof F]?: Infer<F[K]> };

/** The TypeScript type of what `read` returns for a shape. */
export type Infer<S> = S extends { kind: "boolean" }
  ? boolean
  : S extends { kind: "integer" | "number" }
    ? number
    : S extends { kind: "string" | "quantity" }
      ? string
      : S extends { kind: "enum"; values: readonly (infer V)[] }
        ? V
        : S extends { kind: "list"; of: infer O }
          ? Infer<O>[]
          : S extends { kind: "map"; of: infer O }
            ? Record<string, Infer<O>>
            : S extends { kind: "object"; fields: infer F }
              ? FieldsOf<F>
              : S extends { kind: "intOrString" }
                ? number | string
                : unknown;

/** Builders, so descriptions read like the documents they describe. */
export const t = {
  boolean: () => ({ kind: "boolean" }) as const,
  integer: (range: { min?: number; max?: number } = {}) => ({ kind: "integer", ...range }) as const,
  number: () => ({ kind: "number" }) as const,
  string: (options: { nonEmpty?: boolean } = {}) => ({ kind: "string", ...options }) as const,
  enum: <const V extends readonly string[]>(values: V) => ({ kind: "enum", values }) as const,
  list: <const O extends Shape>(of: O) => ({ kind: "list", of }) as const,
  /** Docker's StrSlice (Cmd, Entrypoint): a list, or one string that becomes a one-element list. */
  strSlice: () => ({ kind: "list", of: { kind: "string" }, single: true }) as const,
  map: <const O extends Shape>(of: O) => ({ kind: "map", of }) as const,
  object: <const F extends Readonly<Record<string, Shape>>>(fields: F, unknown: UnknownPolicy = { kind: "warn" }) =>
    ({ kind: "object", fields, unknown }) as const,
  json: () => ({ kind: "json" }) as const,
  k8s: (type: string) => ({ kind: "k8s", type }) as const,
  quantity: () => ({ kind: "quantity" }) as const,
  intOrString: () => ({ kind: "intOrString" }) as const,
  /** A field the runtime knows that has no Kubernetes equivalent: read as any JSON, reported with `why`. */
  ignored: (why: string) => ({ kind: "json", note: why }) as const,
};
