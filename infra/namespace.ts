import {
  TAGS_ANNOTATION,
  canonicalJson,
  deviceNamespace,
  deviceTags,
  hubName,
  k8sName,
  publishedPortNames,
} from "@edgek8s/agent";
import { MANAGED_BY, MANAGED_BY_LABEL } from "./adoption.ts";
import { type StackConfig, hubHostName } from "./config.ts";

/** A Kubernetes object as the program creates it (whatever resource type ends up carrying it). */
export interface ObjectSpec {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  readonly [field: string]: unknown;
}

/** A local device's tags as its twin would hold them: the stack's tags and the rollout bucket. */
export function localTags(config: StackConfig, deviceId: string): string {
  return canonicalJson(deviceTags(deviceId, config.devices[deviceId]?.tags ?? {}));
}

/** The ports edgeHub serves to downstream devices: MQTT, AMQP and both over WebSockets (HTTPS). */
export const EDGE_HUB_PORTS = [8883, 5671, 443] as const;

export function deviceLabels(config: StackConfig, deviceId: string): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    "app.kubernetes.io/part-of": "edgek8s",
    "edgek8s.io/device": k8sName(deviceId),
    "edgek8s.io/hub": k8sName(hubName(hubHostName(config))),
  };
}

/**
 * The objects that make a device's namespace, `msiot-<hub>-<device>`: the Namespace with Pod Security
 * labels, NetworkPolicies that deny ingress except between the device's modules (any port, as on
 * Docker's network), to edgeHub's gateway ports and to the container ports a module's PortBindings
 * publish, and the configured ResourceQuota and LimitRange.
 * Pure: the program wraps each in a resource.
 */
export function deviceNamespaceObjects(config: StackConfig, deviceId: string): ObjectSpec[] {
  const namespace = deviceNamespace(hubHostName(config), deviceId);
  const labels = deviceLabels(config, deviceId);
  const level = config.namespaceDefaults.podSecurity;
  const meta = (name: string) => ({ name, namespace, labels });
  const devicePods = { "edgek8s.io/device": labels["edgek8s.io/device"]! };
  const objects: ObjectSpec[] = [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: namespace,
        labels: {
          ...labels,
          "pod-security.kubernetes.io/enforce": level,
          "pod-security.kubernetes.io/warn": "restricted",
          "pod-security.kubernetes.io/audit": "restricted",
        },
        annotations: {
          "edgek8s.io/device-id": deviceId,
          "edgek8s.io/hub": hubHostName(config),
          // Local mode: the device's twin tags, where the release engine evaluates target conditions.
          ...(config.hub.mode === "none" ? { [TAGS_ANNOTATION]: localTags(config, deviceId) } : {}),
        },
      },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("default-deny-ingress"),
      spec: { podSelector: {}, policyTypes: ["Ingress"] },
    },
    {
      // Docker's azure-iot-edge network: every module of the device reaches every other on any port
      // (by name, through the module's headless Service, which resolves to its pod). Only the device's
      // own pods, in its own namespace: not other pods someone puts there, not other devices.
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("allow-within-device"),
      spec: {
        podSelector: { matchLabels: devicePods },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: { matchLabels: devicePods } }] }],
      },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("allow-edgehub-gateway"),
      spec: {
        podSelector: { matchLabels: { ...devicePods, "edgek8s.io/module": "edgehub" } },
        policyTypes: ["Ingress"],
        ingress: [{ ports: EDGE_HUB_PORTS.map((port) => ({ protocol: "TCP", port })) }],
      },
    },
    {
      // PortBindings publish a container port to anyone, as Docker does on the host (a web UI, an
      // OPC UA server, a LoRa packet forwarder). The agent names each published container port
      // edgek8s-pub-<n> (agent/src/translate/service.ts); this admits those ports, by name, and no other.
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("allow-published-ports"),
      spec: {
        podSelector: { matchLabels: devicePods },
        policyTypes: ["Ingress"],
        ingress: [
          { ports: publishedPortNames().flatMap((port) => ["TCP", "UDP"].map((protocol) => ({ protocol, port }))) },
        ],
      },
    },
  ];
  const quota = config.namespaceDefaults.resourceQuota;
  if (quota)
    objects.push({ apiVersion: "v1", kind: "ResourceQuota", metadata: meta("device-quota"), spec: { hard: quota } });
  const limits = config.namespaceDefaults.limitRange;
  if (limits) {
    objects.push({
      apiVersion: "v1",
      kind: "LimitRange",
      metadata: meta("device-defaults"),
      spec: { limits: [{ type: "Container", ...limits }] },
    });
  }
  return objects;
}
