/**
 * The API rights the agent needs, and no more: it reads EdgeDeployments and writes only their
 * status, manages the kinds it translates to, reads pods and their warning events for status and records events; and it holds
 * a leader Lease in its own namespace. The Helm chart renders exactly these rules (a test keeps them
 * equal) and the integration tests run the agent with the chart's rendered RBAC.
 */
export const AGENT_RBAC_RULES = [
  { apiGroups: ["edgek8s.io"], resources: ["edgedeployments"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["edgek8s.io"], resources: ["edgedeployments/status"], verbs: ["get", "patch", "update"] },
  {
    apiGroups: ["apps"],
    resources: ["deployments"],
    verbs: ["get", "list", "watch", "create", "patch", "update", "delete"],
  },
  {
    apiGroups: [""],
    resources: ["services", "secrets", "persistentvolumeclaims", "serviceaccounts"],
    verbs: ["get", "list", "watch", "create", "patch", "update", "delete"],
  },
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
  // list: the Warning events of pods kubelet cannot prepare, for module status (FailedMount …).
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "list"] },
] as const;

/** Leader election: the Lease in the agent's own namespace. */
export const LEADER_ELECTION_RULES = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
] as const;

/** Hub mode only (chart value hubBridge.enabled): the hub bridge writes EdgeDeployments from the twin. */
export const HUB_BRIDGE_RBAC_RULES = [
  { apiGroups: ["edgek8s.io"], resources: ["edgedeployments"], verbs: ["create", "patch", "update"] },
] as const;

/**
 * Local stacks only (chart value releaseEngine.enabled, cluster mode): the release engine reads the
 * EdgeReleases and the namespaces' tags cluster-wide, writes the releases' status and the devices'
 * EdgeDeployment specs by server-side apply (PATCH). It lists and watches; it never gets one by one.
 */
export const RELEASE_ENGINE_RBAC_RULES = [
  { apiGroups: ["edgek8s.io"], resources: ["edgereleases"], verbs: ["list", "watch"] },
  { apiGroups: ["edgek8s.io"], resources: ["edgereleases/status"], verbs: ["patch"] },
  { apiGroups: [""], resources: ["namespaces"], verbs: ["list", "watch"] },
  { apiGroups: ["edgek8s.io"], resources: ["edgedeployments"], verbs: ["patch"] },
] as const;
