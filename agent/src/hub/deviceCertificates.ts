import { createDeviceCa, issueEdgeHubCertificate, needsIssuing } from "./certificates.ts";
import { BRIDGE_MANAGER } from "./identities.ts";
import type { KubeClient } from "../kube/client.ts";
import { RESOURCES } from "../kube/resources.ts";
import { k8sName } from "../naming/k8sName.ts";
import type { Logger } from "../runtime/log.ts";
import { CERT_KEYS, DEVICE_CA_SECRET, EDGE_HUB_CERT_SECRET } from "../translate/identity.ts";
import { LABEL } from "../translate/labels.ts";

/** The device CA (made once, kept in a Secret) and edgeHub's server certificate, issued again before it expires. */
export async function ensureDeviceCertificates(
  kube: KubeClient,
  namespace: string,
  deviceId: string,
  log: Logger,
  now = new Date(),
): Promise<void> {
  const read = async (name: string) => {
    const secret = await kube.get(RESOURCES.Secret, namespace, name);
    const data = (secret as { data?: Record<string, string> } | undefined)?.data ?? {};
    return (key: string) => (data[key] !== undefined ? Buffer.from(data[key], "base64").toString("utf8") : undefined);
  };
  const secret = (name: string, stringData: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace,
      labels: { [LABEL.managedBy]: BRIDGE_MANAGER, [LABEL.device]: k8sName(deviceId) },
    },
    type: "Opaque",
    stringData,
  });
  const caData = await read(DEVICE_CA_SECRET);
  let ca = { certPem: caData(CERT_KEYS.caCert) ?? "", keyPem: caData(CERT_KEYS.caKey) ?? "" };
  if (ca.certPem === "" || ca.keyPem === "" || needsIssuing(ca.certPem, ca.certPem, now)) {
    ca = createDeviceCa(deviceId, now);
    await kube.apply(
      secret(DEVICE_CA_SECRET, { [CERT_KEYS.caCert]: ca.certPem, [CERT_KEYS.caKey]: ca.keyPem }),
      BRIDGE_MANAGER,
    );
    log.info("made the device CA");
  }
  const server = await read(EDGE_HUB_CERT_SECRET);
  if (needsIssuing(server(CERT_KEYS.cert), ca.certPem, now)) {
    const issued = issueEdgeHubCertificate(ca, namespace, now);
    await kube.apply(
      secret(EDGE_HUB_CERT_SECRET, {
        [CERT_KEYS.cert]: issued.certPem,
        [CERT_KEYS.key]: issued.keyPem,
        [CERT_KEYS.caCert]: ca.certPem,
      }),
      BRIDGE_MANAGER,
    );
    log.info("issued edgeHub's server certificate");
  }
}
