import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { deviceIdProblem, hostNameProblem } from "@edgek8s/agent/naming";
import { deviceNamespace, parseRolloutPlan, trackNameProblem } from "@edgek8s/agent";
import { tagProblems } from "./providers/deviceTags.ts";

/**
 * The stack configuration (`edgek8s:*` keys of Pulumi.<stack>.yaml), validated once. Environment
 * differences live here, never in `if (stack === "prod")`.
 */

/** IoT Hub names: 3–50 letters, digits and '-', not ending with '-'. */
const HUB_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{1,48}[a-zA-Z0-9])$/;
const K8S_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const hubSchema = z.discriminatedUnion(
  "mode",
  [
    z.strictObject({
      mode: z.literal("none"),
      /** Used only to name namespaces and fill IOTEDGE_IOTHUBHOSTNAME in local mode. */
      hostName: z.string().default("local-hub.azure-devices.net"),
    }),
    z.strictObject({
      mode: z.literal("azure"),
      name: z.string().regex(HUB_NAME, { error: "must be 3-50 letters, digits or '-', not ending with '-'" }),
      resourceGroup: z.string().min(1),
      location: z.string().min(1),
      /** Basic tiers have no twins or modules: IoT Edge needs Free or Standard. */
      sku: z
        .enum(["F1", "S1", "S2", "S3"], {
          error: "must be F1, S1, S2 or S3 (IoT Edge needs the Free or Standard tier; Basic has no twins)",
        })
        .default("S1"),
      capacity: z.number().int().min(1).max(200).default(1),
      /**
       * What a staged release targets until the rollout moves it: "" (`empty`), or, should this hub
       * refuse an empty target condition (ROLLOUT.md §A5 #2), `deviceId='edgek8s-none'` (`noDevice`).
       */
      stagedTarget: z.enum(["empty", "noDevice"], { error: "must be empty or noDevice" }).default("empty"),
    }),
  ],
  { error: 'must have mode "none" (local, no Azure) or "azure"' },
);

const agentSchema = z.strictObject({
  /** `cluster`: one agent per cluster watching every namespace; `device`: one release per device (the seed's model). */
  mode: z.enum(["cluster", "device"]).default("cluster"),
  image: z.string().min(1).default("ghcr.io/edgek8s/agent:0.1.0"),
  replicas: z.number().int().min(1).max(5).default(1),
  namespace: z.string().regex(K8S_NAME, { error: "must be a Kubernetes namespace name" }).default("edgek8s-system"),
});

const clusterSchema = z.strictObject({
  /** Path of a kubeconfig file; absent: the Kubernetes provider's default (KUBECONFIG, ~/.kube/config). */
  kubeconfig: z.string().min(1).optional(),
  context: z.string().min(1).optional(),
  agent: agentSchema.default(agentSchema.parse({})),
});

const tagValue = z.union([z.string(), z.number(), z.boolean()], { error: "must be a string, number or boolean" });

const deviceSchema = z.strictObject({
  cluster: z.string().min(1),
  /** A deployment manifest file (IoT Edge deployment.json), relative to the project root. */
  manifest: z.string().min(1).optional(),
  tags: z.record(z.string(), tagValue).optional(),
});

/**
 * A track (ROLLOUT.md §B2): a stream of releases of one deployment manifest for the devices its target
 * condition selects. `layer: true` makes it a layered deployment on top of the base tracks.
 */
const trackSchema = z.strictObject({
  /** An IoT Edge deployment manifest (deployment.json), relative to the project root. */
  manifest: z.string().min(1),
  /** An IoT Hub target condition over `tags.*` and `deviceId`, single quotes only. */
  target: z.string().min(1, { error: "must be a target condition; a track that targets nothing has no devices" }),
  layer: z.boolean().default(false),
  /** Superseded releases kept for rollback before they are deleted. */
  retain: z.number().int().min(0).max(10).default(2),
  /** Custom metrics by name: `SELECT deviceId FROM devices[.modules] WHERE …`; edgek8s adds its two. */
  metrics: z.record(z.string(), z.string()).default({}),
});

const quantityMap = z.record(z.string(), z.string());
const namespaceDefaultsSchema = z.strictObject({
  /** Pod Security Standard enforced on device namespaces. */
  podSecurity: z.enum(["privileged", "baseline", "restricted"]).default("baseline"),
  resourceQuota: quantityMap.optional(),
  limitRange: z.strictObject({ defaultRequest: quantityMap.optional(), default: quantityMap.optional() }).optional(),
});

export const stackConfigSchema = z.strictObject({
  hub: hubSchema,
  clusters: z
    .record(z.string().regex(K8S_NAME, { error: "cluster names must be lowercase DNS labels" }), clusterSchema)
    .refine((c) => Object.keys(c).length > 0, { error: "needs at least one cluster" }),
  devices: z.record(z.string(), deviceSchema).default({}),
  namespaceDefaults: namespaceDefaultsSchema.default(namespaceDefaultsSchema.parse({})),
  tracks: z.record(z.string(), trackSchema).default({}),
  /** The ring plan and gates (ROLLOUT.md §B2), validated by the rollout's own parser. */
  rollout: z.unknown().optional(),
});

export type StackConfig = z.infer<typeof stackConfigSchema>;
export type DeviceConfig = StackConfig["devices"][string];
export type TrackConfig = StackConfig["tracks"][string];

export const CONFIG_NAMESPACE = "edgek8s";
export const CONFIG_KEYS = Object.keys(stackConfigSchema.shape) as (keyof StackConfig)[];

export interface ConfigIssue {
  /** `edgek8s:devices.line-3.cluster` */
  readonly key: string;
  readonly message: string;
}

export function formatConfigIssue(issue: ConfigIssue): string {
  return `${issue.key}: ${issue.message}`;
}

function keyOf(path: readonly PropertyKey[]): string {
  return `${CONFIG_NAMESPACE}:${path.map(String).join(".")}`;
}

export function hubHostName(config: StackConfig): string {
  return config.hub.mode === "none" ? config.hub.hostName : `${config.hub.name}.azure-devices.net`;
}

/** The keys the schema allows at a path, for "unknown key" messages. */
function knownKeys(path: readonly PropertyKey[]): string[] {
  const [top, , third] = path;
  if (path.length === 0) return [...CONFIG_KEYS];
  if (top === "clusters") return third === "agent" ? Object.keys(agentSchema.shape) : Object.keys(clusterSchema.shape);
  if (top === "devices") return Object.keys(deviceSchema.shape);
  if (top === "namespaceDefaults") return Object.keys(namespaceDefaultsSchema.shape);
  if (top === "tracks") return Object.keys(trackSchema.shape);
  return [];
}

/** Checks that span keys: devices name known clusters and valid ids, namespaces are distinct, local devices have manifests. */
function crossCheck(config: StackConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const clusters = Object.keys(config.clusters);
  const hostProblem = config.hub.mode === "none" ? hostNameProblem(config.hub.hostName) : undefined;
  if (hostProblem) issues.push({ key: keyOf(["hub", "hostName"]), message: hostProblem });
  const namespaces = new Map<string, string>();
  for (const [id, device] of Object.entries(config.devices)) {
    const problem = deviceIdProblem(id);
    if (problem) issues.push({ key: keyOf(["devices", id]), message: `device id ${problem}` });
    if (!clusters.includes(device.cluster)) {
      issues.push({
        key: keyOf(["devices", id, "cluster"]),
        message: `unknown cluster "${device.cluster}"; clusters: ${clusters.join(", ")}`,
      });
    }
    if (config.hub.mode === "none" && device.manifest === undefined) {
      issues.push({
        key: keyOf(["devices", id, "manifest"]),
        message: "is required with hub mode none: local devices get their manifest from a file",
      });
    }
    if (device.tags && "edgek8s" in device.tags)
      issues.push({
        key: keyOf(["devices", id, "tags", "edgek8s"]),
        message: "is reserved: edgek8s writes its own tags (the rollout bucket) there",
      });
    for (const problem of tagProblems(device.tags ?? {}))
      issues.push({
        key: keyOf(["devices", id, "tags"]),
        message: problem.key === "" ? problem.message : `${JSON.stringify(problem.key)} ${problem.message}`,
      });
    const namespace = deviceNamespace(hubHostName(config), id);
    const clash = namespaces.get(namespace);
    if (clash !== undefined)
      issues.push({
        key: keyOf(["devices", id]),
        message: `devices "${clash}" and "${id}" would share the namespace ${namespace}`,
      });
    namespaces.set(namespace, id);
  }
  for (const name of Object.keys(config.tracks)) {
    const problem = trackNameProblem(name);
    if (problem) issues.push({ key: keyOf(["tracks", name]), message: `track name ${problem}` });
  }
  const plan = parseRolloutPlan(config.rollout, keyOf(["rollout"]));
  if (!plan.ok) issues.push(...plan.problems.map((p) => ({ key: p.path, message: p.message })));
  return issues;
}

/**
 * Validates the `edgek8s:*` values (each already parsed from YAML/JSON). Unknown keys are errors:
 * a typo must not silently fall back to a default.
 */
export function parseStackConfig(
  values: Readonly<Record<string, unknown>>,
): { ok: true; config: StackConfig } | { ok: false; issues: ConfigIssue[]; config?: StackConfig } {
  const result = stackConfigSchema.safeParse(values);
  if (!result.success) {
    return {
      ok: false,
      issues: result.error.issues.flatMap((issue): ConfigIssue[] => {
        if (issue.code === "unrecognized_keys") {
          return issue.keys.map((key) => ({
            key: keyOf([...issue.path, key]),
            message: `unknown key; known keys: ${knownKeys(issue.path).join(", ")}`,
          }));
        }
        const missing = /^Invalid input: expected (.+), received undefined$/.exec(issue.message);
        return [
          {
            key: keyOf(issue.path),
            message: missing
              ? `is required (expected ${missing[1]})`
              : issue.message.replace(/^Invalid (input|option): /, ""),
          },
        ];
      }),
    };
  }
  const issues = crossCheck(result.data);
  // The typed config comes along with cross-key issues, so callers can report file problems too.
  return issues.length > 0 ? { ok: false, issues, config: result.data } : { ok: true, config: result.data };
}

/**
 * The stack's `edgek8s:*` values as Pulumi holds them (structured values arrive as JSON text). The
 * only reader of Pulumi configuration in the program; every key, known or not, goes to the schema.
 */
export function readConfigValues(
  all: Readonly<Record<string, string>> = pulumi.runtime.allConfig(),
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [key, text] of Object.entries(all)) {
    if (!key.startsWith(prefix)) continue;
    try {
      values[key.slice(prefix.length)] = JSON.parse(text);
    } catch {
      values[key.slice(prefix.length)] = text;
    }
  }
  return values;
}
