import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { clusterConfigFromYaml, inClusterConfig, loadClusterConfig } from "../src/kube/config.ts";

const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: dev
contexts:
  - name: dev
    context: { cluster: c1, user: u1 }
  - name: other
    context: { cluster: c1, user: u2 }
clusters:
  - name: c1
    cluster: { server: "https://10.1.2.3:6443", certificate-authority-data: ${Buffer.from("CA").toString("base64")} }
users:
  - name: u1
    user: { client-certificate: certs/client.crt, client-key-data: ${Buffer.from("KEY").toString("base64")} }
  - name: u2
    user: { exec: { command: az } }
`;

describe("kubeconfig loading (no client library at run time)", () => {
  it("reads the current context: server, embedded CA, client key data and a cert file relative to the kubeconfig", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgek8s-kc-"));
    writeFileSync(join(dir, "certs-client.crt"), "CERT");
    const config = clusterConfigFromYaml(KUBECONFIG.replace("certs/client.crt", "certs-client.crt"), dir);
    assert.equal(config.server, "https://10.1.2.3:6443");
    assert.equal(config.ca?.toString(), "CA");
    assert.equal(config.cert?.toString(), "CERT");
    assert.equal(config.key?.toString(), "KEY");
  });

  it("refuses exec plugins with a clear message, and unknown contexts", () => {
    assert.throws(() => clusterConfigFromYaml(KUBECONFIG, "/", "other"), /exec or auth-provider plugin/);
    assert.throws(() => clusterConfigFromYaml(KUBECONFIG, "/", "nope"), /context "nope" not found/);
  });

  it("uses the pod's ServiceAccount in a cluster, reading the token file (which rotates)", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgek8s-sa-"));
    writeFileSync(join(dir, "token"), "t");
    writeFileSync(join(dir, "ca.crt"), "CA");
    const config = inClusterConfig({ KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" }, dir);
    assert.deepEqual(
      { ...config, ca: config?.ca?.toString() },
      { server: "https://10.0.0.1:443", ca: "CA", tokenFile: join(dir, "token") },
    );
    assert.equal(inClusterConfig({}, dir), undefined);
  });

  it("says what to do when nothing is configured", () => {
    assert.throws(
      () => loadClusterConfig(undefined, { HOME: "/nonexistent", KUBECONFIG: "/nonexistent/config" }),
      /pass --kubeconfig/,
    );
  });
});
