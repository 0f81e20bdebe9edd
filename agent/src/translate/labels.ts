import type { V1ObjectMeta, V1OwnerReference } from "@kubernetes/client-node";
import type { TranslationContext } from "./context.ts";
import { k8sName } from "../naming/k8sName.ts";

export const MANAGED_BY = "edgek8s-agent";
export const LABEL = {
  managedBy: "app.kubernetes.io/managed-by",
  name: "app.kubernetes.io/name",
  device: "edgek8s.io/device",
  module: "edgek8s.io/module",
} as const;
export const ANNOTATION = {
  moduleId: "edgek8s.io/module-id",
  deviceId: "edgek8s.io/device-id",
  moduleVersion: "edgek8s.io/module-version",
  startupOrder: "edgek8s.io/startup-order",
  volumeSource: "edgek8s.io/volume-source",
  pvcRetention: "edgek8s.io/pvc-retention",
  registry: "edgek8s.io/registry",
} as const;

/** The selector of a module's pods: device + module, nothing that may change over the module's life. */
export function moduleSelector(ctx: TranslationContext, moduleName: string): Record<string, string> {
  return { [LABEL.device]: k8sName(ctx.deviceId), [LABEL.module]: moduleName };
}

export function moduleLabels(ctx: TranslationContext, moduleName: string, name = moduleName): Record<string, string> {
  return { [LABEL.managedBy]: MANAGED_BY, [LABEL.name]: name, ...moduleSelector(ctx, moduleName) };
}

function ownerReferences(ctx: TranslationContext): V1OwnerReference[] | undefined {
  if (!ctx.owner) return undefined;
  const { apiVersion, kind, name, uid } = ctx.owner;
  return [{ apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true }];
}

type Meta = V1ObjectMeta & { name: string; namespace: string };

function meta(
  ctx: TranslationContext,
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
): Meta {
  const result: Meta = {
    name,
    namespace: ctx.namespace,
    labels,
    annotations: { [ANNOTATION.deviceId]: ctx.deviceId, ...annotations },
  };
  const owners = ownerReferences(ctx);
  if (owners) result.ownerReferences = owners;
  return result;
}

/** Metadata of an object made for one module (or, with `name`, an object a module brings that others may share). */
export function objectMeta(
  ctx: TranslationContext,
  moduleName: string,
  annotations: Record<string, string>,
  name = moduleName,
): Meta {
  return meta(ctx, name, moduleLabels(ctx, moduleName, name), annotations);
}

/** Metadata of an object that belongs to the device as a whole (a registry's pull Secret). */
export function deviceObjectMeta(ctx: TranslationContext, name: string, annotations: Record<string, string>): Meta {
  return meta(
    ctx,
    name,
    { [LABEL.managedBy]: MANAGED_BY, [LABEL.name]: name, [LABEL.device]: k8sName(ctx.deviceId) },
    annotations,
  );
}
