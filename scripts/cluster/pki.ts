import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  /** Service-account token signing key pair. */
  readonly saKey: string;
  readonly saPub: string;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function signed(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
  pki: { caCert: string; caKey: string },
) {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  await run("openssl", ["req", ...EC, "-keyout", key, "-out", csr, "-subj", subject]);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    pki.caCert,
    "-CAkey",
    pki.caKey,
    "-set_serial",
    `0x${randomBytes(16).toString("hex")}`,
    "-out",
    cert,
    "-days",
    "7",
    "-extfile",
    ext,
  ]);
  return { cert, key };
}

// Each certificate gets its own random serial: a shared serial file (-CAcreateserial) races when two
// certificates are signed at once.

async function createCa(dir: string, name: string): Promise<{ caCert: string; caKey: string }> {
  const caCert = join(dir, `${name}.crt`);
  const caKey = join(dir, `${name}.key`);
  await run("openssl", ["req", "-x509", ...EC, "-keyout", caKey, "-out", caCert, "-days", "7", "-subj", `/CN=${name}`]);
  return { caCert, caKey };
}

/** A throw-away CA and a serving certificate for `hostName` signed by it (for test doubles of remote services). */
export async function createServerCertificate(
  dir: string,
  hostName: string,
): Promise<{ caCert: string; cert: string; key: string }> {
  const ca = await createCa(dir, "edgek8s-test-service-ca");
  const server = await signed(
    dir,
    "service",
    `/CN=${hostName}`,
    `subjectAltName=DNS:${hostName}\nextendedKeyUsage=serverAuth\n`,
    ca,
  );
  return { caCert: ca.caCert, ...server };
}

/** A client certificate signed by the cluster CA: Kubernetes reads the user from CN and its groups from O. */
export async function createClientCertificate(
  pki: Pki,
  dir: string,
  name: string,
  user: string,
  groups: readonly string[] = [],
): Promise<{ cert: string; key: string }> {
  const subject = `/CN=${user}${groups.map((g) => `/O=${g}`).join("")}`;
  return signed(dir, name, subject, "extendedKeyUsage=clientAuth\n", pki);
}

/**
 * A throw-away CA, apiserver serving certificate, admin client certificate and service-account key
 * (EC P-256, openssl). `extraIps`: more addresses the API server is reached at (a real node's link).
 */
export async function createPki(dir: string, extraIps: readonly string[] = []): Promise<Pki> {
  const ca = await createCa(dir, "ca");
  const { caCert, caKey } = ca;
  const sans = [
    "IP:127.0.0.1",
    "IP:10.96.0.1",
    ...extraIps.map((ip) => `IP:${ip}`),
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc",
  ].join(",");
  const [server, admin] = await Promise.all([
    signed(dir, "apiserver", "/CN=kube-apiserver", `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\n`, ca),
    signed(dir, "admin", "/CN=edgek8s-admin/O=system:masters", "extendedKeyUsage=clientAuth\n", ca),
  ]);
  const saKey = join(dir, "sa.key");
  const saPub = join(dir, "sa.pub");
  await run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", saKey]);
  await run("openssl", ["ec", "-in", saKey, "-pubout", "-out", saPub]);
  return {
    caCert,
    caKey,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    saKey,
    saPub,
  };
}
