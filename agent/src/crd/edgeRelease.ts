import { GROUP, VERSION } from "./edgeDeployment.ts";

/**
 * The EdgeRelease custom resource: an IoT Hub deployment (configuration) for a local stack. It has
 * the configuration's fields — content, target condition, priority, labels — and the release engine
 * in the agent does with it what IoT Hub does with a configuration: targets devices by their tags,
 * merges a base and its layers, writes each device's EdgeDeployment, and records in status which
 * devices the release is Applied and Targeted on, with IoT Hub's system metrics.
 * Cluster-scoped, as configurations are hub-wide.
 */
export const RELEASE_KIND = "EdgeRelease";
export const RELEASE_PLURAL = "edgereleases";
export const RELEASE_API_VERSION = `${GROUP}/${VERSION}`;

export interface EdgeReleaseSpec {
  readonly track: string;
  readonly layer: boolean;
  readonly priority: number;
  /** IoT Hub target condition over the device's tags and id; "" targets nothing (a staged release). */
  readonly targetCondition: string;
  /** The configuration's `content.modulesContent`. */
  readonly modulesContent: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** IoT Hub configuration labels (`edgek8s.state`, `edgek8s.ring`, …), with IoT Hub's character rules. */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface EdgeReleaseStatus {
  readonly observedGeneration?: number;
  readonly applied?: readonly string[];
  readonly targeted?: readonly string[];
  /** IoT Hub's system metric names (`targetedCount`, `appliedCount`, `reportedSuccessfulCount`, `reportedFailedCount`). */
  readonly systemMetrics?: Readonly<Record<string, number>>;
  readonly conditionError?: string;
  /** Set when the content cannot be used (a twin that is not an object of paths): the release targets nothing. */
  readonly contentError?: string;
}

const labelsSchema = { type: "object", additionalProperties: { type: "string", maxLength: 128 } };
const ids = { type: "array", items: { type: "string" } };

export function edgeReleaseCrd() {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${RELEASE_PLURAL}.${GROUP}`, labels: { "app.kubernetes.io/part-of": "edgek8s" } },
    spec: {
      group: GROUP,
      scope: "Cluster",
      names: {
        kind: RELEASE_KIND,
        listKind: `${RELEASE_KIND}List`,
        plural: RELEASE_PLURAL,
        singular: "edgerelease",
        shortNames: ["erel"],
        categories: ["edgek8s"],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Track", type: "string", jsonPath: ".spec.track" },
            { name: "Priority", type: "integer", jsonPath: ".spec.priority" },
            { name: "State", type: "string", jsonPath: ".spec.labels.edgek8s\\.state" },
            { name: "Targeted", type: "integer", jsonPath: ".status.systemMetrics.targetedCount" },
            { name: "Applied", type: "integer", jsonPath: ".status.systemMetrics.appliedCount" },
            { name: "Succeeded", type: "integer", jsonPath: ".status.systemMetrics.reportedSuccessfulCount" },
            { name: "Failed", type: "integer", jsonPath: ".status.systemMetrics.reportedFailedCount" },
            { name: "Target", type: "string", jsonPath: ".spec.targetCondition", priority: 1 },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: `${RELEASE_KIND} (${RELEASE_API_VERSION}) is one immutable release of a track: an IoT Hub deployment for a local stack.`,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: {
                  type: "object",
                  required: ["track", "layer", "priority", "targetCondition", "modulesContent"],
                  properties: {
                    track: { type: "string", minLength: 1, maxLength: 40 },
                    layer: { type: "boolean" },
                    priority: { type: "integer", format: "int32", minimum: 0, maximum: 2147483647 },
                    targetCondition: { type: "string", maxLength: 65536 },
                    modulesContent: {
                      type: "object",
                      description: "the configuration's content.modulesContent (validated by the agent)",
                      "x-kubernetes-preserve-unknown-fields": true,
                    },
                    labels: labelsSchema,
                  },
                  // IoT Hub: "Configuration identifier and Content cannot be updated".
                  "x-kubernetes-validations": [
                    {
                      rule: "self.modulesContent == oldSelf.modulesContent",
                      message: "modulesContent is immutable: a new content is a new release",
                    },
                    {
                      rule: "self.layer == oldSelf.layer && self.track == oldSelf.track",
                      message: "track and layer are immutable",
                    },
                  ],
                },
                status: {
                  type: "object",
                  properties: {
                    observedGeneration: { type: "integer", format: "int64" },
                    applied: ids,
                    targeted: ids,
                    systemMetrics: { type: "object", additionalProperties: { type: "integer" } },
                    conditionError: { type: "string" },
                    contentError: { type: "string" },
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
