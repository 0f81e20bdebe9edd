import type { V1EnvVar, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { ModuleSpec } from "../manifest/model.ts";
import { k8sName } from "../naming/k8sName.ts";

/**
 * Hub mode: what each module gets from the Secrets the hub bridge writes — its IoT Hub identity
 * (edgeHub `IotHubConnectionString`, the others `EdgeHubConnectionString`, as the device SDKs'
 * `fromEnvironment` reads them), edgeHub its server certificate, the others the device CA they
 * trust edgeHub by (`EdgeModuleCACertificateFile`). No security daemon, no workload socket.
 */

export const GATEWAY_HOST_NAME = "edgehub";

/** The Secret with a module's IoT Hub identity, and its keys. */
export function identitySecretName(moduleId: string): string {
  return k8sName(`${moduleId}-identity`);
}
export const IDENTITY_KEYS = { connectionString: "connectionString", generationId: "generationId" } as const;

/** The device CA (ca.crt for everyone; ca.key is read by the bridge only) and edgeHub's server certificate. */
export const DEVICE_CA_SECRET = "edgehub-ca";
export const EDGE_HUB_CERT_SECRET = "edgehub-server-cert";
export const CERT_KEYS = { caCert: "ca.crt", caKey: "ca.key", cert: "tls.crt", key: "tls.key" } as const;

const TRUST_DIR = "/etc/edgek8s/trust";
const SERVER_DIR = "/etc/edgek8s/edgehub";
const TRUST_VOLUME = "edgek8s-trust";
const SERVER_VOLUME = "edgek8s-edgehub-cert";

export function identityEnv(module: ModuleSpec): V1EnvVar[] {
  const secret = identitySecretName(module.id);
  const ref = (key: string) => ({ valueFrom: { secretKeyRef: { name: secret, key } } });
  const connection: V1EnvVar = {
    name: module.system ? "IotHubConnectionString" : "EdgeHubConnectionString",
    ...ref(IDENTITY_KEYS.connectionString),
  };
  const generation: V1EnvVar = { name: "IOTEDGE_MODULEGENERATIONID", ...ref(IDENTITY_KEYS.generationId) };
  if (module.system) {
    return [
      connection,
      generation,
      { name: "EdgeHubDevServerCertificateFile", value: `${SERVER_DIR}/${CERT_KEYS.cert}` },
      { name: "EdgeHubDevServerPrivateKeyFile", value: `${SERVER_DIR}/${CERT_KEYS.key}` },
      { name: "EdgeHubDevTrustBundleFile", value: `${SERVER_DIR}/${CERT_KEYS.caCert}` },
    ];
  }
  return [connection, generation, { name: "EdgeModuleCACertificateFile", value: `${TRUST_DIR}/${CERT_KEYS.caCert}` }];
}

/** edgeHub mounts its certificate and key; other modules mount the CA certificate alone, never its key. */
export function identityVolumes(module: ModuleSpec): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  if (module.system) {
    return {
      volumes: [{ name: SERVER_VOLUME, secret: { secretName: EDGE_HUB_CERT_SECRET, defaultMode: 0o440 } }],
      mounts: [{ name: SERVER_VOLUME, mountPath: SERVER_DIR, readOnly: true }],
    };
  }
  return {
    volumes: [
      {
        name: TRUST_VOLUME,
        secret: {
          secretName: DEVICE_CA_SECRET,
          items: [{ key: CERT_KEYS.caCert, path: CERT_KEYS.caCert }],
          defaultMode: 0o444,
        },
      },
    ],
    mounts: [{ name: TRUST_VOLUME, mountPath: TRUST_DIR, readOnly: true }],
  };
}
