import type { ObjectSpec } from "../namespace.ts";

/**
 * What Kubernetes' NetworkPolicy (networking.k8s.io/v1) admits for ingress, for the selector forms the
 * program uses: a pod is isolated for ingress when a policy in its namespace selects it with policy type
 * Ingress; then a connection is admitted when one of those policies has a rule whose `from` matches the
 * source (no `from`: any source; a podSelector without a namespaceSelector: pods of the policy's own
 * namespace) and whose `ports` match (no `ports`: every port). Policies add up; order does not matter.
 * Source: https://kubernetes.io/docs/concepts/services-networking/network-policies/
 */
export interface Endpoint {
  readonly namespace: string | undefined; // undefined: outside the cluster (a downstream device)
  readonly labels: Readonly<Record<string, string>>;
}

interface Selector {
  readonly matchLabels?: Readonly<Record<string, string>>;
}
interface Peer {
  readonly podSelector?: Selector;
  readonly namespaceSelector?: Selector;
}
interface Rule {
  readonly from?: readonly Peer[];
  readonly ports?: readonly { readonly port?: number; readonly protocol?: string }[];
}
interface PolicySpec {
  readonly podSelector: Selector;
  readonly policyTypes?: readonly string[];
  readonly ingress?: readonly Rule[];
}

function selects(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function peerMatches(peer: Peer, policyNamespace: string, source: Endpoint): boolean {
  if (peer.namespaceSelector !== undefined) throw new Error("namespaceSelector is not modelled");
  return source.namespace === policyNamespace && selects(peer.podSelector ?? {}, source.labels);
}

export function admits(
  policies: readonly ObjectSpec[],
  source: Endpoint,
  target: Endpoint & { namespace: string },
  port: number,
  protocol = "TCP",
): boolean {
  const selecting = policies.filter(
    (p) =>
      p.kind === "NetworkPolicy" &&
      p.metadata.namespace === target.namespace &&
      ((p["spec"] as PolicySpec).policyTypes ?? ["Ingress"]).includes("Ingress") &&
      selects((p["spec"] as PolicySpec).podSelector, target.labels),
  );
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    ((p["spec"] as PolicySpec).ingress ?? []).some(
      (rule) =>
        (rule.from === undefined || rule.from.some((peer) => peerMatches(peer, target.namespace, source))) &&
        (rule.ports === undefined ||
          rule.ports.some((r) => (r.port === undefined || r.port === port) && (r.protocol ?? "TCP") === protocol)),
    ),
  );
}
