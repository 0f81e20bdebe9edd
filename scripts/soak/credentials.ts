import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { KubeClient } from "../../agent/src/kube/client.ts";
import type { KubeObject } from "../../agent/src/kube/objects.ts";
import { AGENT_RBAC_RULES, LEADER_ELECTION_RULES } from "../../agent/src/rbac.ts";

export interface AgentAccounts {
  /** Namespace of the ServiceAccounts and of the leader Lease. */
  readonly namespace: string;
  /** One ServiceAccount per replica, so the audit log tells the replicas apart. */
  readonly serviceAccounts: readonly string[];
  /** Namespaces whose EdgeDeployments the replicas serve, or "all". */
  readonly watch: readonly string[] | "all";
}

const RBAC = "rbac.authorization.k8s.io/v1";

/** The username the API server records for a ServiceAccount. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/**
 * ServiceAccounts with exactly the agent's rights (`agent/src/rbac.ts`, which the chart renders):
 * one ClusterRole, bound cluster-wide or in each watched namespace, and the leader-election Role in
 * the accounts' namespace. Applied with the admin client, as the platform team's Helm release would.
 */
export async function grantAgentRights(
  admin: KubeClient,
  accounts: AgentAccounts,
  manager = "edgek8s-soak",
): Promise<void> {
  const { namespace, serviceAccounts } = accounts;
  const subjects = serviceAccounts.map((name) => ({ kind: "ServiceAccount", name, namespace }));
  const objects: KubeObject[] = [
    ...serviceAccounts.map((name) => ({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } })),
    { apiVersion: RBAC, kind: "ClusterRole", metadata: { name: `${namespace}-agent` }, rules: AGENT_RBAC_RULES },
    { apiVersion: RBAC, kind: "Role", metadata: { name: "leader-election", namespace }, rules: LEADER_ELECTION_RULES },
    {
      apiVersion: RBAC,
      kind: "RoleBinding",
      metadata: { name: "leader-election", namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "leader-election" },
      subjects,
    },
    ...(accounts.watch === "all"
      ? [
          {
            apiVersion: RBAC,
            kind: "ClusterRoleBinding",
            metadata: { name: `${namespace}-agent` },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${namespace}-agent` },
            subjects,
          },
        ]
      : accounts.watch.map((watched) => ({
          apiVersion: RBAC,
          kind: "RoleBinding",
          metadata: { name: `${namespace}-agent`, namespace: watched },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${namespace}-agent` },
          subjects,
        }))),
  ];
  for (const object of objects) await admin.apply(object, manager, undefined, typeOf(object));
}

function typeOf(object: KubeObject) {
  const kind = object.kind ?? "";
  const plural = `${kind.toLowerCase()}s`;
  const namespaced = kind !== "ClusterRole" && kind !== "ClusterRoleBinding";
  return { apiVersion: object.apiVersion ?? "v1", kind, plural, namespaced };
}

/**
 * A kubeconfig for a ServiceAccount whose token sits in a file beside it (the agent reads a token
 * file again every minute, as it does a projected token): `refresh` writes a new token, so a run
 * can outlast one token's lifetime. Returns the kubeconfig path and the token (to look for it in logs).
 */
export async function serviceAccountKubeconfig(
  adminConfig: KubeConfig,
  server: string,
  caCertPem: string,
  account: { namespace: string; name: string },
  dir: string,
): Promise<{ path: string; token: string; refresh: () => Promise<string> }> {
  const tokenFile = join(dir, `${account.name}.token`);
  const refresh = async () => {
    const response = await adminConfig.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      namespace: account.namespace,
      name: account.name,
      body: { spec: { audiences: ["https://kubernetes.default.svc"], expirationSeconds: 7200 } },
    });
    const token = response.status?.token ?? "";
    writeFileSync(tokenFile, token, { mode: 0o600 });
    return token;
  };
  const token = await refresh();
  const path = join(dir, `${account.name}.kubeconfig`);
  const user = `${account.namespace}-${account.name}`;
  writeFileSync(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "edgek8s-local",
          cluster: { server, "certificate-authority-data": Buffer.from(caCertPem).toString("base64") },
        },
      ],
      users: [{ name: user, user: { tokenFile } }],
      contexts: [{ name: user, context: { cluster: "edgek8s-local", user } }],
      "current-context": user,
    }),
    { mode: 0o600 },
  );
  return { path, token, refresh };
}
