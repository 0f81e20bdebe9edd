/**
 * Following a twin's desired properties in version order. The device SDK delivers the whole desired
 * document once, then patches; a patch is applied only when it is exactly the next version. A gap
 * (a patch lost, or a reconnect) means fetching the whole document again. Pure.
 */

export type Desired = Record<string, unknown> & { readonly $version: number };

export type TwinStep =
  | { readonly kind: "apply"; readonly desired: Desired }
  | { readonly kind: "ignore"; readonly reason: string }
  | { readonly kind: "refetch"; readonly reason: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** JSON merge patch as twins use it: null removes a key, objects merge, anything else replaces. */
export function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) Reflect.deleteProperty(result, key);
    else if (isObject(value)) result[key] = mergePatch(isObject(result[key]) ? result[key] : {}, value);
    else result[key] = value;
  }
  return result;
}

/**
 * The merge patch that turns `before` into `after` (the inverse of mergePatch): changed and new keys,
 * objects recursed, null for keys that are gone. Empty when nothing changed.
 */
export function diffPatch(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    const old = before[key];
    if (isObject(value) && isObject(old)) {
      const inner = diffPatch(old, value);
      if (Object.keys(inner).length > 0) patch[key] = inner;
    } else if (JSON.stringify(old) !== JSON.stringify(value)) patch[key] = value;
  }
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  return patch;
}

export function versionOf(doc: unknown): number | undefined {
  const v = isObject(doc) ? doc["$version"] : undefined;
  return typeof v === "number" && Number.isInteger(v) ? v : undefined;
}

export class DesiredTracker {
  private current: Desired | undefined;

  get desired(): Desired | undefined {
    return this.current;
  }

  /** The whole desired document (first delivery, or after a refetch). */
  full(doc: unknown): TwinStep {
    const version = versionOf(doc);
    if (!isObject(doc) || version === undefined)
      return { kind: "refetch", reason: "desired properties without $version" };
    if (this.current && version <= this.current.$version)
      return { kind: "ignore", reason: `document $version ${String(version)} already applied` };
    // A copy: the SDK merges later patches into the object it handed over.
    this.current = structuredClone(doc) as Desired;
    return { kind: "apply", desired: this.current };
  }

  /** A desired-properties patch notification. */
  patch(patch: unknown): TwinStep {
    const version = versionOf(patch);
    if (!isObject(patch) || version === undefined) return { kind: "refetch", reason: "patch without $version" };
    if (!this.current) return { kind: "refetch", reason: "patch before the whole document" };
    if (version <= this.current.$version)
      return { kind: "ignore", reason: `patch $version ${String(version)} already applied` };
    if (version !== this.current.$version + 1)
      return {
        kind: "refetch",
        reason: `patch $version ${String(version)} after ${String(this.current.$version)}: a patch was missed`,
      };
    this.current = { ...mergePatch(this.current, structuredClone(patch)), $version: version };
    return { kind: "apply", desired: this.current };
  }

  /** Forget the document: after a reconnect the next delivery must be a whole one. */
  reset(): void {
    this.current = undefined;
  }
}
