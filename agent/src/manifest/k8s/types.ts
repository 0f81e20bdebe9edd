import { K8S_TYPES } from "./types.generated.ts";
import type { Shape } from "../shape/shape.ts";

/**
 * What the generated field types cannot say but the API server checks, for the fields people use:
 * closed value sets (the API refuses anything else) and quantities. Enum values are matched
 * case-insensitively and written in the API's spelling (the original k8s-experimental parsed the
 * service type with Enum.TryParse(ignoreCase: true); here every such field is read that way).
 */
const ENUMS: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  V1Toleration: { operator: ["Exists", "Equal"], effect: ["NoSchedule", "PreferNoSchedule", "NoExecute"] },
  V1DeploymentStrategy: { type: ["Recreate", "RollingUpdate"] },
  V1HostPathVolumeSource: {
    type: ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"],
  },
  V1NodeSelectorRequirement: { operator: ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] },
  V1LabelSelectorRequirement: { operator: ["In", "NotIn", "Exists", "DoesNotExist"] },
  V1SeccompProfile: { type: ["RuntimeDefault", "Unconfined", "Localhost"] },
  V1AppArmorProfile: { type: ["RuntimeDefault", "Unconfined", "Localhost"] },
  V1PodSecurityContext: { fsGroupChangePolicy: ["OnRootMismatch", "Always"] },
  V1VolumeMount: { mountPropagation: ["None", "HostToContainer", "Bidirectional"] },
};

/** Fields whose strings are resource quantities (`500m`, `2Gi`); the API refuses anything else. */
const QUANTITY_MAPS: Readonly<Record<string, readonly string[]>> = {
  V1ResourceRequirements: ["limits", "requests"],
  V1VolumeResourceRequirements: ["limits", "requests"],
};
const QUANTITIES: Readonly<Record<string, readonly string[]>> = { V1EmptyDirVolumeSource: ["sizeLimit"] };
/** Lists whose items form a closed set. */
const LIST_ENUMS: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  V1PersistentVolumeClaimSpec: { accessModes: ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] },
};

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

function fieldShape(text: string): Shape {
  if (text.endsWith("[]")) return { kind: "list", of: fieldShape(text.slice(0, -2)) };
  if (text.startsWith("{") && text.endsWith("}")) return { kind: "map", of: fieldShape(text.slice(1, -1)) };
  switch (text) {
    case "string":
      return { kind: "string" };
    case "boolean":
      return { kind: "boolean" };
    case "int32":
      return { kind: "integer", ...INT32 };
    case "int64":
      return { kind: "integer" };
    case "number":
      return { kind: "number" };
    case "IntOrString":
      return { kind: "intOrString" };
    case "any":
      return { kind: "json" };
    default:
      return { kind: "k8s", type: text };
  }
}

const cache = new Map<string, Extract<Shape, { kind: "object" }>>();

/**
 * The shape of a Kubernetes model (`V1Volume`, …) with the API's field names, required fields and
 * the checks above. Unknown fields are errors: server-side apply refuses fields a type does not declare.
 */
export function k8sTypeShape(type: string): Extract<Shape, { kind: "object" }> {
  const cached = cache.get(type);
  if (cached) return cached;
  const table = K8S_TYPES[type];
  if (!table) throw new Error(`no Kubernetes type ${type} in types.generated.ts (npm run generate:k8s-types)`);
  const fields: Record<string, Shape> = {};
  const required: string[] = [];
  for (const [name, declared] of Object.entries(table)) {
    const text = declared.startsWith("!") ? declared.slice(1) : declared;
    if (declared.startsWith("!")) required.push(name);
    const values = ENUMS[type]?.[name];
    const itemValues = LIST_ENUMS[type]?.[name];
    if (values) fields[name] = { kind: "enum", values };
    else if (itemValues) fields[name] = { kind: "list", of: { kind: "enum", values: itemValues } };
    else if (QUANTITY_MAPS[type]?.includes(name)) fields[name] = { kind: "map", of: { kind: "quantity" } };
    else if (QUANTITIES[type]?.includes(name)) fields[name] = { kind: "quantity" };
    else fields[name] = fieldShape(text);
  }
  const shape = { kind: "object", fields, unknown: "error", required } as const;
  cache.set(type, shape);
  return shape;
}
