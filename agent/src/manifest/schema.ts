import { z } from "zod";

/**
 * The IoT Edge deployment manifest's two desired documents, as IoT Hub stores them in the
 * `$edgeAgent` and `$edgeHub` twins. Objects are loose so unknown keys can be reported as
 * warnings (real manifests carry tool-specific extras); everything the agent reads is typed here.
 */

export const EDGE_AGENT_SCHEMA_VERSIONS = ["1.0", "1.1"] as const;
export const EDGE_HUB_SCHEMA_VERSIONS = ["1.0", "1.1", "1.2"] as const;
export const MODULE_STATUSES = ["running", "stopped"] as const;
export const RESTART_POLICIES = ["never", "on-failure", "on-unhealthy", "always"] as const;
export const IMAGE_PULL_POLICIES = ["on-create", "never"] as const;
/** IoT Hub's default startupOrder: start after everything that has one. */
export const DEFAULT_STARTUP_ORDER = 4294967295;

const envValue = z.union([z.string(), z.number(), z.boolean()], { error: "must be a string, number or boolean" });
const envSchema = z.record(z.string(), z.looseObject({ value: envValue }));

/** `createOptions` is a JSON string in the twin; deployment templates often hold the object itself. */
const createOptionsValue = z.union([z.string(), z.record(z.string(), z.unknown())]);

export const CREATE_OPTIONS_CHUNK = /^createOptions(\d{2})$/;

const settingsSchema = z
  .looseObject({
    image: z.string().min(1, { error: "must be a non-empty image reference" }),
    createOptions: createOptionsValue.optional(),
  })
  .check((ctx) => {
    for (const [key, value] of Object.entries(ctx.value)) {
      if (CREATE_OPTIONS_CHUNK.test(key) && typeof value !== "string") {
        ctx.issues.push({
          code: "custom",
          input: value,
          path: [key],
          message: "createOptions chunks must be strings",
        });
      }
    }
  });

const startupOrder = z.number().int().min(0).max(DEFAULT_STARTUP_ORDER);

const moduleCommon = {
  type: z.literal("docker", { error: 'must be "docker"' }),
  settings: settingsSchema,
  env: envSchema.nullable().optional(),
  imagePullPolicy: z.enum(IMAGE_PULL_POLICIES).optional(),
  startupOrder: startupOrder.optional(),
};

export const userModuleSchema = z.looseObject({
  ...moduleCommon,
  version: z.string().optional(),
  status: z.enum(MODULE_STATUSES),
  restartPolicy: z.enum(RESTART_POLICIES),
});

export const edgeHubModuleSchema = z.looseObject({
  ...moduleCommon,
  status: z.literal("running", { error: 'edgeHub must be "running"' }),
  restartPolicy: z.enum(RESTART_POLICIES),
});

export const edgeAgentModuleSchema = z.looseObject({
  type: moduleCommon.type,
  settings: settingsSchema,
  env: envSchema.nullable().optional(),
  imagePullPolicy: moduleCommon.imagePullPolicy,
});

const registryCredentialSchema = z.looseObject({
  address: z.string().min(1, { error: "must be a registry host name" }),
  username: z.string().min(1, { error: "must not be empty" }),
  password: z.string().min(1, { error: "must not be empty" }),
});

export const edgeAgentDesiredSchema = z.looseObject({
  schemaVersion: z.enum(EDGE_AGENT_SCHEMA_VERSIONS),
  runtime: z.looseObject({
    type: moduleCommon.type,
    settings: z
      .looseObject({
        minDockerVersion: z.string().optional(),
        loggingOptions: z.string().optional(),
        registryCredentials: z.record(z.string(), registryCredentialSchema).nullable().optional(),
      })
      .optional(),
  }),
  // Modules are validated one by one (see parse.ts), so one bad module does not hide another's errors.
  systemModules: z.looseObject({
    edgeAgent: edgeAgentModuleSchema,
    edgeHub: z.unknown(),
  }),
  // null: IoT Hub and server-side apply both express "all keys removed" as null.
  modules: z.record(z.string(), z.unknown()).nullable().optional(),
});

const routeObject = z.looseObject({
  route: z.string().min(1),
  priority: z.number().int().min(0).max(9).optional(),
  timeToLiveSecs: z.number().int().nonnegative().optional(),
});

export const edgeHubDesiredSchema = z.looseObject({
  schemaVersion: z.enum(EDGE_HUB_SCHEMA_VERSIONS),
  routes: z.record(
    z.string(),
    z.union([z.string().min(1), routeObject], { error: "must be a route string or {route, priority, timeToLiveSecs}" }),
  ),
  storeAndForwardConfiguration: z.looseObject({ timeToLiveSecs: z.number().int().nonnegative() }).optional(),
});

export type EdgeAgentDesiredInput = z.infer<typeof edgeAgentDesiredSchema>;
export type EdgeHubDesiredInput = z.infer<typeof edgeHubDesiredSchema>;
export type UserModuleInput = z.infer<typeof userModuleSchema>;
export type EdgeHubModuleInput = z.infer<typeof edgeHubModuleSchema>;

/** Keys the agent reads, per object kind; anything else is reported as ignored. */
export const KNOWN_KEYS = {
  edgeAgentDesired: ["schemaVersion", "runtime", "systemModules", "modules", "$version", "$metadata"],
  edgeHubDesired: ["schemaVersion", "routes", "storeAndForwardConfiguration", "mqttBroker", "$version", "$metadata"],
  module: ["version", "type", "status", "restartPolicy", "imagePullPolicy", "startupOrder", "env", "settings"],
  settings: ["image", "createOptions"],
} as const;
