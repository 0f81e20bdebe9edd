import { isRecord } from "../manifest/shape/read.ts";

/**
 * Following a twin's desired properties. A desired-properties notification carries "the same form of
 * update (partial or full replacement) executed by the solution back end" (learn.microsoft.com,
 * "Understand and use device twins in IoT Hub"): a replacement arrives whole, with no null for what it
 * removed, so a notification is never merged. It only says that a newer `$version` exists; the bridge
 * then fetches the whole document and applies that. Versions only grow, so anything at or below the
 * applied version is ignored (the device reconnection flow in the same document). Pure.
 */

export type Desired = Record<string, unknown> & { readonly $version: number };

export type TwinStep =
  | { readonly kind: "apply"; readonly desired: Desired }
  | { readonly kind: "ignore"; readonly reason: string }
  | { readonly kind: "refetch"; readonly reason: string };

/**
 * The merge patch that turns `before` into `after`: changed and new keys, objects recursed, null for
 * keys that are gone. Empty when nothing changed. (How reported properties are sent.)
 */
export function diffPatch(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    const old = before[key];
    if (isRecord(value) && isRecord(old)) {
      const inner = diffPatch(old, value);
      if (Object.keys(inner).length > 0) patch[key] = inner;
    } else if (JSON.stringify(old) !== JSON.stringify(value)) patch[key] = value;
  }
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  return patch;
}

export function versionOf(doc: unknown): number | undefined {
  const v = isRecord(doc) ? doc["$version"] : undefined;
  return typeof v === "number" && Number.isInteger(v) ? v : undefined;
}

export class DesiredTracker {
  private current: Desired | undefined;

  get desired(): Desired | undefined {
    return this.current;
  }

  /** The whole desired document (as fetched). */
  full(doc: unknown): TwinStep {
    const version = versionOf(doc);
    if (!isRecord(doc) || version === undefined)
      return { kind: "refetch", reason: "desired properties without $version" };
    if (this.current && version <= this.current.$version)
      return { kind: "ignore", reason: `document $version ${String(version)} already applied` };
    // A copy: the SDK keeps changing the object it handed over.
    this.current = structuredClone(doc) as Desired;
    return { kind: "apply", desired: this.current };
  }

  /** A desired-properties notification: a patch or a whole replacement, never applied as it comes. */
  notified(notification: unknown): TwinStep {
    const version = versionOf(notification);
    if (version !== undefined && this.current && version <= this.current.$version)
      return { kind: "ignore", reason: `notification $version ${String(version)} already applied` };
    return {
      kind: "refetch",
      reason: version === undefined ? "notified without $version" : `notified of $version ${String(version)}`,
    };
  }

  /** Forget the document: after a reconnect the next delivery must be a whole one. */
  reset(): void {
    this.current = undefined;
  }
}
