import type { V1Secret } from "@kubernetes/client-node";
import type { Managed, TranslationContext } from "./context.ts";
import { ANNOTATION, deviceObjectMeta } from "./labels.ts";
import type { ModuleSpec, RegistryCredential } from "../manifest/model.ts";
import { k8sName } from "../naming/k8sName.ts";

const DOCKER_HUB = "docker.io";
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

function canonicalRegistry(host: string): string {
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/** The registry host of an image reference; Docker Hub when the first part is not a host. */
export function imageRegistry(image: string): string {
  const first = image.split("/")[0] ?? "";
  const isHost = image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  return isHost ? canonicalRegistry(first.toLowerCase()) : DOCKER_HUB;
}

export function pullSecretName(credential: RegistryCredential): string {
  return k8sName(`registry-${credential.name}`);
}

/** One `kubernetes.io/dockerconfigjson` Secret per registry in `registryCredentials`. */
export function pullSecrets(credentials: readonly RegistryCredential[], ctx: TranslationContext): Managed<V1Secret>[] {
  return credentials.map((credential) => {
    const name = pullSecretName(credential);
    const auth = Buffer.from(`${credential.username}:${credential.password}`).toString("base64");
    const config = {
      auths: { [credential.address]: { username: credential.username, password: credential.password, auth } },
    };
    return {
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/dockerconfigjson",
      metadata: deviceObjectMeta(ctx, name, { [ANNOTATION.registry]: credential.address }),
      data: { ".dockerconfigjson": Buffer.from(JSON.stringify(config)).toString("base64") },
    };
  });
}

/** The pull Secrets whose registry serves this module's image. */
export function imagePullSecretsFor(
  module: ModuleSpec,
  credentials: readonly RegistryCredential[],
): { name: string }[] {
  const registry = imageRegistry(module.image);
  return credentials.filter((c) => canonicalRegistry(c.address) === registry).map((c) => ({ name: pullSecretName(c) }));
}
