import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "./edgeDeployment.ts";

const string = { type: "string" };
const integer = { type: "integer" };
const dateTime = { type: "string", format: "date-time" };
const desiredDocument = (what: string) => ({
  type: "object",
  description: `${what} properties.desired, as IoT Hub holds it; validated by the agent, which reports problems in status.`,
  "x-kubernetes-preserve-unknown-fields": true,
});

const condition = {
  type: "object",
  required: ["type", "status", "reason", "lastTransitionTime"],
  properties: {
    type: { type: "string", enum: ["Ready", "Progressing", "Degraded"] },
    status: { type: "string", enum: ["True", "False", "Unknown"] },
    reason: string,
    message: string,
    lastTransitionTime: dateTime,
    observedGeneration: { type: "integer", format: "int64" },
  },
};

const moduleStatus = {
  type: "object",
  required: ["name", "runtimeStatus", "restartCount"],
  properties: {
    name: { ...string, description: "Kubernetes name of the module's objects" },
    runtimeStatus: { type: "string", enum: ["running", "backoff", "failed", "stopped", "unknown", "unhealthy"] },
    statusDescription: string,
    exitCode: integer,
    restartCount: integer,
    lastStartTimeUtc: dateTime,
    lastExitTimeUtc: dateTime,
    lastRestartTimeUtc: dateTime,
    version: string,
  },
};

const readiness = {
  type: "object",
  description:
    "whether the device runs exactly readyVersion: every module as desired on its current template (the rollout gates read it)",
  required: ["ready", "modulesReady", "modulesTotal", "readySince"],
  properties: {
    ready: { type: "boolean" },
    readyVersion: { type: "integer", format: "int64", description: "the desired version ready was computed for" },
    modulesReady: integer,
    modulesTotal: integer,
    readySince: { ...dateTime, description: "when ready or readyVersion last changed" },
  },
};

/**
 * The CustomResourceDefinition of EdgeDeployment: structural, with a declared status subresource
 * (the original left status undeclared and broke on Kubernetes 1.22). Pulumi applies the YAML
 * generated from this (`npm run generate:crd`); a test keeps the two identical.
 */
export function edgeDeploymentCrd() {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${PLURAL}.${GROUP}`, labels: { "app.kubernetes.io/part-of": "edgek8s" } },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: "edgedeployment",
        shortNames: ["edep"],
        categories: ["edgek8s"],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Device", type: "string", jsonPath: ".spec.deviceId" },
            { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: "Modules", type: "string", jsonPath: ".status.modulesReady", description: "ready/total modules" },
            { name: "Desired Version", type: "integer", jsonPath: ".spec.desiredVersion" },
            {
              name: "Ready Version",
              type: "integer",
              jsonPath: ".status.readiness.readyVersion",
              priority: 1,
              description: "the desired version every module runs as desired",
            },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: `${KIND} (${API_VERSION}) is one IoT Edge device's deployment manifest in the cluster; the edgek8s agent runs it.`,
              required: ["spec"],
              properties: {
                apiVersion: string,
                kind: string,
                metadata: { type: "object" },
                spec: {
                  type: "object",
                  // edgeAgent may be absent: a local device in a track waits for the release engine to write it.
                  required: ["deviceId", "hubHostName"],
                  properties: {
                    deviceId: { type: "string", minLength: 1, maxLength: 128, description: "IoT Edge device id" },
                    hubHostName: { type: "string", minLength: 1, maxLength: 253, description: "IoT Hub host name" },
                    desiredVersion: {
                      type: "integer",
                      format: "int64",
                      description: "$version of the $edgeAgent desired properties",
                    },
                    edgeAgent: desiredDocument("$edgeAgent"),
                    edgeHub: desiredDocument("$edgeHub"),
                  },
                },
                status: {
                  type: "object",
                  properties: {
                    observedGeneration: { type: "integer", format: "int64" },
                    desiredVersion: { type: "integer", format: "int64" },
                    conditions: {
                      type: "array",
                      items: condition,
                      "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["type"],
                    },
                    modules: { type: "object", additionalProperties: moduleStatus },
                    modulesReady: string,
                    warnings: {
                      type: "array",
                      items: {
                        type: "object",
                        required: ["path", "message"],
                        properties: { path: string, message: string },
                      },
                    },
                    lastDesiredStatus: {
                      type: "object",
                      required: ["code"],
                      properties: { code: integer, description: string },
                    },
                    readiness,
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}
