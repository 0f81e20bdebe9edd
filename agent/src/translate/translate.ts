import type {
  V1Deployment,
  V1PersistentVolumeClaim,
  V1Secret,
  V1Service,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import type { Managed, TranslationContext } from "./context.ts";
import { moduleDeployment } from "./deployment.ts";
import { ANNOTATION, objectMeta } from "./labels.ts";
import { imagePullSecretsFor, pullSecrets } from "./pullSecrets.ts";
import { moduleNameServices, publishedService } from "./service.ts";
import { identityVolumes } from "./identity.ts";
import { type PodVolumes, persistentVolumeClaims, podVolumes } from "./volumes.ts";
import { Warnings } from "./warnings.ts";
import type { ManifestWarning } from "../manifest/issues.ts";
import type { DeploymentManifest, ModuleSpec } from "../manifest/model.ts";
import { compareText } from "../runtime/canonical.ts";

export type ManagedObject =
  | Managed<V1Secret>
  | Managed<V1PersistentVolumeClaim>
  | Managed<V1ServiceAccount>
  | Managed<V1Service>
  | Managed<V1Deployment>;

/** What one module became, for ordering (startupOrder) and status. */
export interface TranslatedModule {
  readonly id: string;
  readonly k8sName: string;
  readonly startupOrder: number;
  readonly status: ModuleSpec["status"];
}

export interface Translation {
  /** In apply order: Secrets, claims, ServiceAccounts, Services, Deployments; by name within a kind. */
  readonly objects: readonly ManagedObject[];
  readonly modules: readonly TranslatedModule[];
  readonly warnings: readonly ManifestWarning[];
}

export const KIND_ORDER = ["Secret", "PersistentVolumeClaim", "ServiceAccount", "Service", "Deployment"] as const;

/** Annotation keys Kubernetes accepts: an optional DNS prefix, then a name of at most 63 characters. */
const QUALIFIED_NAME = /^(?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** The nearest key Kubernetes accepts: prefix lower-cased to a DNS subdomain, name to [-A-Za-z0-9_.]. */
export function annotationKey(key: string): string {
  const slash = key.lastIndexOf("/");
  const trim = (text: string, ends: RegExp) => text.replace(new RegExp(`^${ends.source}+|${ends.source}+$`, "g"), "");
  const prefix = trim(
    (slash === -1 ? "" : key.slice(0, slash))
      .toLowerCase()
      .replace(/[^-a-z0-9.]+/g, "-")
      .slice(0, 253),
    /[^a-z0-9]/,
  );
  const name =
    trim(
      key
        .slice(slash + 1)
        .replace(/[^-A-Za-z0-9_.]+/g, "_")
        .slice(0, 63),
      /[^A-Za-z0-9]/,
    ) || "label";
  return prefix === "" ? name : `${prefix}/${name}`;
}

/** Docker `Labels` become annotations (values need not be label-safe); keys Kubernetes refuses are made acceptable. */
function dockerLabelAnnotations(module: ModuleSpec, warnings: Warnings): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(module.createOptions.Labels ?? {})) {
    if (QUALIFIED_NAME.test(key)) {
      annotations[key] = value;
      continue;
    }
    const safe = annotationKey(key);
    warnings.addCreateOption(module, ["Labels", key], `is not a Kubernetes annotation key; written as "${safe}"`);
    annotations[safe] = value;
  }
  return annotations;
}

function serviceAccount(module: ModuleSpec, ctx: TranslationContext): Managed<V1ServiceAccount> {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: objectMeta(ctx, module.k8sName, { [ANNOTATION.moduleId]: module.id }),
    automountServiceAccountToken: false,
  };
}

function byKindThenName(a: ManagedObject, b: ManagedObject): number {
  const kind =
    KIND_ORDER.indexOf(a.kind as (typeof KIND_ORDER)[number]) -
    KIND_ORDER.indexOf(b.kind as (typeof KIND_ORDER)[number]);
  return kind !== 0 ? kind : compareText(a.metadata.name, b.metadata.name);
}

/**
 * The Kubernetes objects that run a device's deployment manifest: a pure, deterministic function
 * of the manifest and the context. Warnings say what could not be honoured exactly.
 */
export function translate(manifest: DeploymentManifest, ctx: TranslationContext): Translation {
  const warnings = new Warnings();
  const objects: ManagedObject[] = [
    ...pullSecrets(manifest.registryCredentials, ctx),
    ...persistentVolumeClaims(manifest.modules, ctx),
  ];
  for (const module of manifest.modules) {
    const labelAnnotations = dockerLabelAnnotations(module, warnings);
    const annotations = { [ANNOTATION.moduleId]: module.id, ...labelAnnotations };
    const privileged = module.createOptions.HostConfig?.Privileged === true;
    const volumes = withIdentityVolumes(podVolumes(module, ctx, warnings, privileged), module, ctx);
    const pullSecretRefs = imagePullSecretsFor(module, manifest.registryCredentials);
    objects.push(serviceAccount(module, ctx));
    objects.push(...moduleNameServices(module, ctx, annotations));
    const published = publishedService(module, ctx, annotations, warnings);
    if (published) objects.push(published);
    objects.push(moduleDeployment(module, ctx, volumes, annotations, pullSecretRefs, warnings));
  }
  return {
    objects: objects.sort(byKindThenName),
    modules: manifest.modules.map(({ id, k8sName, startupOrder, status }) => ({ id, k8sName, startupOrder, status })),
    warnings: warnings.list,
  };
}

/** Hub mode: the certificate volumes of identityVolumes, after the module's own. */
function withIdentityVolumes(volumes: PodVolumes, module: ModuleSpec, ctx: TranslationContext): PodVolumes {
  if (ctx.moduleIdentities !== true) return volumes;
  const extra = identityVolumes(module);
  return { ...volumes, volumes: [...volumes.volumes, ...extra.volumes], mounts: [...volumes.mounts, ...extra.mounts] };
}
