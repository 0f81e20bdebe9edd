import { X509Certificate, generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

/**
 * A CA per device and edgeHub's server certificate issued by it: modules reach edgeHub over TLS at
 * `edgehub` and trust it through `EdgeModuleCACertificateFile` (DESIGN §4), as IoT Edge's own
 * quickstart CA does. Pure apart from key generation and randomness, which are passed in.
 */

export interface Pem {
  readonly certPem: string;
  readonly keyPem: string;
}

const DAY_MS = 86_400_000;
export const CA_DAYS = 365;
export const SERVER_DAYS = 90;
/** A server certificate with less left than this is issued again. */
export const RENEW_BEFORE_DAYS = 30;

export type KeyFactory = () => { publicKeyPem: string; privateKeyPem: string };

export const rsaKeys: KeyFactory = () => {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
};

function serial(): string {
  // Positive, 16 bytes.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

function sign(cert: forge.pki.Certificate, keyPem: string): void {
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
}

export function createDeviceCa(deviceId: string, now: Date, keys: KeyFactory = rsaKeys): Pem {
  const pair = keys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(pair.publicKeyPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + CA_DAYS * DAY_MS);
  const subject = [{ name: "commonName", value: `edgek8s device CA ${deviceId}`.slice(0, 64) }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  sign(cert, pair.privateKeyPem);
  return { certPem: forge.pki.certificateToPem(cert), keyPem: pair.privateKeyPem };
}

/** The host names modules use for edgeHub in `namespace`. */
export function edgeHubNames(namespace: string): string[] {
  return ["edgehub", `edgehub.${namespace}`, `edgehub.${namespace}.svc`, `edgehub.${namespace}.svc.cluster.local`];
}

export function issueEdgeHubCertificate(ca: Pem, namespace: string, now: Date, keys: KeyFactory = rsaKeys): Pem {
  const pair = keys();
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(pair.publicKeyPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(Math.min(now.getTime() + SERVER_DAYS * DAY_MS, caCert.validity.notAfter.getTime()));
  cert.setSubject([{ name: "commonName", value: "edgehub" }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames: edgeHubNames(namespace).map((value) => ({ type: 2, value })) },
  ]);
  sign(cert, ca.keyPem);
  return { certPem: forge.pki.certificateToPem(cert), keyPem: pair.privateKeyPem };
}

/** True when the certificate is missing, unreadable, not from `caPem`, or close to expiring. */
export function needsIssuing(certPem: string | undefined, caPem: string, now: Date): boolean {
  if (certPem === undefined) return true;
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    if (!cert.verify(ca.publicKey)) return true;
    return new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS;
  } catch {
    return true;
  }
}
