import { createHash } from "node:crypto";
import type { KubeObject } from "../kube/objects.ts";
import { canonicalJson } from "../runtime/canonical.ts";

/** Annotation holding a hash of what the agent last applied, so a resync with nothing changed writes nothing. */
export const APPLIED_HASH = "edgek8s.io/applied-hash";

export function contentHash(object: unknown): string {
  return createHash("sha256").update(canonicalJson(object)).digest("hex").slice(0, 20);
}

/** The applied-hash an object gets when applied (computed over the object without the annotation). */
export function appliedHashOf(object: KubeObject): string {
  return contentHash(object);
}

/** The object with its applied-hash annotation, computed over everything else in it (or given, when already known). */
export function withAppliedHash<T extends KubeObject>(object: T, hash = appliedHashOf(object)): T {
  const metadata = object.metadata ?? {};
  return { ...object, metadata: { ...metadata, annotations: { ...metadata.annotations, [APPLIED_HASH]: hash } } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * True when every field set in `desired` has the same value in `live`. Lists of named items
 * (containers, env, volumes, ports with names) are matched by name, others by position; fields
 * the server adds (defaults, status) do not matter.
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (desired === undefined) return true;
  if (Array.isArray(desired)) {
    if (!Array.isArray(live)) return false;
    const liveItems = live as unknown[];
    return (desired as unknown[]).every((item, index) => {
      const name = isRecord(item) && typeof item["name"] === "string" ? item["name"] : undefined;
      const counterpart =
        name !== undefined ? liveItems.find((l) => isRecord(l) && l["name"] === name) : liveItems[index];
      return isSubset(item, counterpart);
    });
  }
  if (isRecord(desired)) {
    if (!isRecord(live)) return false;
    return Object.entries(desired).every(([key, value]) => isSubset(value, live[key]));
  }
  return desired === live;
}

/**
 * Whether `desired` (with its applied-hash) must be applied over `live`: the object is missing,
 * the manifest changed since the last apply (hash), or someone changed a field the agent sets.
 */
export function needsApply(desired: KubeObject, live: KubeObject | undefined): boolean {
  if (!live) return true;
  if (live.metadata?.annotations?.[APPLIED_HASH] !== desired.metadata?.annotations?.[APPLIED_HASH]) return true;
  return !isSubset(desired, live);
}
