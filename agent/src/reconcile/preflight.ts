import { withAppliedHash } from "./drift.ts";
import type { Plan } from "./plan.ts";
import { KubeError } from "../kube/client.ts";
import type { KubeObject } from "../kube/objects.ts";
import type { ManifestIssue } from "../manifest/issues.ts";
import { mapLimit } from "../runtime/mapLimit.ts";
import { LABEL } from "../translate/labels.ts";
import type { Translation } from "../translate/translate.ts";

/** The one client call the preflight needs (KubeClient.dryRunApply). */
export interface DryRunner {
  dryRunApply(object: KubeObject, fieldManager: string): Promise<unknown>;
}

/** What the API server said of an object it refused. */
export interface Refusal {
  readonly object: string;
  readonly module: string | undefined;
  readonly message: string;
}

/** 400 BadRequest, 422 Invalid: the object itself is refused. Anything else (403, 409, 5xx, network) is not the manifest's fault. */
function isRefusal(error: unknown): error is KubeError {
  return error instanceof KubeError && (error.status === 400 || error.status === 422);
}

/** The API server's own words, without the method and path KubeError puts in front. */
function serverMessage(error: KubeError): string {
  return error.message.replace(/^[A-Z]+ \S+: \d+ /, "");
}

/**
 * All or nothing (DESIGN §4): before a pass writes anything, every object it will write is applied
 * with the API server's dry run, in parallel, as the same field manager. When the server refuses
 * any, the pass writes nothing and the refusals are the manifest's problems. Other failures
 * (permissions, conflicts, the server unreachable) are thrown: the pass is retried, not judged.
 */
export async function preflight(
  client: DryRunner,
  objects: readonly KubeObject[],
  fieldManager: string,
  concurrency: number,
): Promise<Refusal[]> {
  let refusals: (Refusal | undefined)[];
  try {
    refusals = await mapLimit(objects, concurrency, async (object) => {
      try {
        await client.dryRunApply(object, fieldManager);
        return undefined;
      } catch (error) {
        if (!isRefusal(error)) throw error;
        return {
          object: `${object.kind ?? ""}/${object.metadata?.name ?? ""}`,
          module: object.metadata?.labels?.[LABEL.module],
          message: serverMessage(error),
        };
      }
    });
  } catch (failure) {
    if (failure instanceof Error) throw failure;
    throw new Error("the dry run failed", { cause: failure });
  }
  return refusals.filter((r): r is Refusal => r !== undefined);
}

/**
 * Refusals as manifest problems, at the JSON path of the module whose object was refused (its
 * path in the EdgeDeployment spec), or of the spec for device-wide objects; reported with code 400.
 */
export function refusalIssues(refusals: readonly Refusal[], modulePaths: ReadonlyMap<string, string>): ManifestIssue[] {
  return refusals.map((r) => ({
    path: (r.module !== undefined ? modulePaths.get(r.module) : undefined) ?? "spec",
    message: `the API server refuses ${r.object}: ${r.message}`,
    kind: "invalid",
  }));
}

/**
 * What a pass must prove: what it applies now, and the objects of modules that wait for a lower
 * startupOrder (written by a later pass, so a refusal there would otherwise come after a partial apply).
 */
export function objectsToProve(plan: Plan, translation: Translation): KubeObject[] {
  const waiting = new Set(plan.waitingFor);
  const later = translation.objects
    .filter((o) => waiting.has(o.metadata.labels?.[LABEL.module] ?? ""))
    .map((o) => withAppliedHash(o as KubeObject));
  return [...plan.apply, ...later];
}
