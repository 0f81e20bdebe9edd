/**
 * One order and one text for the same data on every machine, for sorting, comparing and hashing.
 *
 * Ordinal order (UTF-16 code units). `localeCompare` orders by the process's locale, so the same
 * objects could be listed and hashed in different orders on two nodes, and its first call loads ICU's
 * collation data (about 4 MB of the agent's resident memory).
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * JSON with object keys in ordinal order at every level and undefined members left out (as
 * `JSON.stringify` leaves them out): equal texts for equal values whatever their key order. The
 * agent's applied-hash is computed over it, so its output must not change between versions.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareText(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
