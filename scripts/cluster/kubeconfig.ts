import { readFileSync } from "node:fs";
import { stringify } from "yaml";

const b64 = (file: string) => readFileSync(file).toString("base64");

export type Credentials = { readonly clientCert: string; readonly clientKey: string } | { readonly token: string };

/** A self-contained kubeconfig (certificates embedded) for one user of the test cluster. */
export function kubeconfigYaml(server: string, caCert: string, user: string, credentials: Credentials): string {
  const userEntry =
    "token" in credentials
      ? { token: credentials.token }
      : { "client-certificate-data": b64(credentials.clientCert), "client-key-data": b64(credentials.clientKey) };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "edgek8s-local", cluster: { server, "certificate-authority-data": b64(caCert) } }],
    users: [{ name: user, user: userEntry }],
    contexts: [{ name: user, context: { cluster: "edgek8s-local", user } }],
    "current-context": user,
  });
}
