import type { Device, Release } from "./engine.ts";
import { type JsonValue, isJsonObject } from "./evaluate.ts";
import type { EdgeDeploymentStatus } from "../crd/edgeDeployment.ts";
import type { EdgeReleaseStatus } from "../crd/edgeRelease.ts";
import type { KubeObject } from "../kube/objects.ts";
import { isRecord } from "../manifest/shape/read.ts";

/**
 * What the release engine reads from the cluster, narrowed into the pure engine's inputs: EdgeReleases
 * (the configurations), the device namespaces' tags and the EdgeDeployments (the devices' twins).
 * Nothing here does I/O; a malformed object becomes a problem the engine reports, never an exception.
 */

/** Namespace annotation holding the device's twin tags as JSON (written by Pulumi, bucket included). */
export const TAGS_ANNOTATION = "edgek8s.io/tags";

export type EdgeReleaseObject = KubeObject & { spec?: unknown; status?: EdgeReleaseStatus };
export type EdgeDeploymentObject = KubeObject & {
  spec?: { deviceId?: unknown; desiredVersion?: unknown; edgeAgent?: unknown; edgeHub?: unknown };
  status?: EdgeDeploymentStatus;
};

type ReleaseSpec = Pick<Release, "priority" | "targetCondition" | "layer" | "modulesContent">;

/** Each field of an EdgeRelease's spec the engine needs, with the check the field must pass. */
const SPEC_FIELDS = {
  track: (v: unknown) => (typeof v === "string" ? undefined : "must be a string"),
  layer: (v: unknown) => (typeof v === "boolean" ? undefined : "must be a boolean"),
  priority: (v: unknown) => (Number.isInteger(v) ? undefined : "must be an integer"),
  targetCondition: (v: unknown) => (typeof v === "string" ? undefined : "must be a string"),
  modulesContent: (v: unknown) => (isRecord(v) ? undefined : "must be an object of module twins"),
} as const;

/** The spec's fields checked in order, then every module twin: the first problem, with its path. */
function readReleaseSpec(spec: unknown): { spec: ReleaseSpec } | { problem: string } {
  if (!isRecord(spec)) return { problem: "spec: must be an object" };
  for (const [field, check] of Object.entries(SPEC_FIELDS)) {
    const problem = check(spec[field]);
    if (problem !== undefined) return { problem: `spec.${field}: ${problem}` };
  }
  for (const [module, twin] of Object.entries(spec.modulesContent as Record<string, unknown>))
    if (!isRecord(twin)) return { problem: `spec.modulesContent.${module}: must be an object of twin paths` };
  // Read from JSON by the API server, so JSON values.
  return { spec: spec as unknown as ReleaseSpec };
}

function toIso(value: string | Date | undefined): string {
  if (value === undefined) return "";
  return typeof value === "string" ? value : value.toISOString();
}

/**
 * An EdgeRelease as the engine's Release. The CRD's schema already types every field but the module
 * content; content whose twins are not objects is refused here (IoT Hub refuses it at creation).
 */
export function releaseFromObject(object: EdgeReleaseObject): { release: Release } | { problem: string } {
  const parsed = readReleaseSpec(object.spec);
  if ("problem" in parsed) return parsed;
  const { priority, targetCondition, layer, modulesContent } = parsed.spec;
  return {
    release: {
      id: object.metadata?.name ?? "",
      priority,
      createdTimeUtc: toIso(object.metadata?.creationTimestamp),
      layer,
      targetCondition,
      modulesContent,
    },
  };
}

/** A device namespace's tags: `{}` without the annotation; a problem when it is not a JSON object. */
export function tagsFromNamespace(
  namespace: KubeObject | undefined,
): { tags: Readonly<Record<string, JsonValue>> } | { problem: string } {
  const text = namespace?.metadata?.annotations?.[TAGS_ANNOTATION];
  if (text === undefined) return { tags: {} };
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (error) {
    return { problem: `annotation ${TAGS_ANNOTATION} is not JSON: ${(error as Error).message}` };
  }
  if (!isJsonObject(value)) return { problem: `annotation ${TAGS_ANNOTATION} must be a JSON object of tags` };
  return { tags: value };
}

/** What a device reported for its deployment: the desired version it acted on and the code it gave. */
export interface DeviceReport {
  readonly deviceId: string;
  /** `properties.reported.lastDesiredVersion`: EdgeDeployment status.desiredVersion. */
  readonly lastDesiredVersion: number | undefined;
  /** `properties.reported.lastDesiredStatus.code`. */
  readonly lastDesiredCode: number | undefined;
}

export interface ObservedDevice {
  readonly device: Device;
  readonly report: DeviceReport;
  readonly uid: string;
  readonly generation: number;
}

const integer = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isInteger(value) ? value : undefined;

/**
 * One EdgeDeployment and its namespace as a device of the engine. Undefined for an object being
 * deleted or without a device id (nothing to target); a problem when its tags cannot be read.
 */
export function deviceFromObjects(
  edgeDeployment: EdgeDeploymentObject,
  namespace: KubeObject | undefined,
): ObservedDevice | { problem: string } | undefined {
  const meta = edgeDeployment.metadata ?? {};
  if (meta.deletionTimestamp !== undefined) return undefined;
  const spec = edgeDeployment.spec ?? {};
  if (typeof spec.deviceId !== "string" || spec.deviceId === "") return undefined;
  const tags = tagsFromNamespace(namespace);
  if ("problem" in tags) return tags;
  const device: Device = {
    deviceId: spec.deviceId,
    key: `${meta.namespace ?? ""}/${meta.name ?? ""}`,
    tags: tags.tags,
    desiredVersion: integer(spec.desiredVersion),
    edgeAgent: spec.edgeAgent as JsonValue | undefined,
    edgeHub: spec.edgeHub as JsonValue | undefined,
  };
  const status = edgeDeployment.status;
  return {
    device,
    report: {
      deviceId: spec.deviceId,
      lastDesiredVersion: integer(status?.desiredVersion),
      lastDesiredCode: integer(status?.lastDesiredStatus?.code),
    },
    uid: meta.uid ?? "",
    generation: meta.generation ?? 0,
  };
}
