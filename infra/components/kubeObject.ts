import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { owned } from "../adoption.ts";
import type { ObjectSpec } from "../namespace.ts";

/**
 * Declares one object the program builds as plain data (namespace.ts, objects.ts, adoption.ts) as the
 * `@pulumi/kubernetes` resource of its kind, owned by the program (label and field manager, see
 * adoption.ts). Kinds without a class of their own (the EdgeDeployment) become a CustomResource.
 */
export function kubeObject(
  name: string,
  object: ObjectSpec,
  opts: pulumi.CustomResourceOptions,
): pulumi.CustomResource {
  const args = owned(object);
  switch (`${args.apiVersion} ${args.kind}`) {
    case "v1 Namespace":
      return new k8s.core.v1.Namespace(name, args as k8s.core.v1.NamespaceArgs, opts);
    case "v1 ResourceQuota":
      return new k8s.core.v1.ResourceQuota(name, args as k8s.core.v1.ResourceQuotaArgs, opts);
    case "v1 Secret":
      return new k8s.core.v1.Secret(name, args as k8s.core.v1.SecretArgs, opts);
    case "v1 LimitRange":
      return new k8s.core.v1.LimitRange(name, args as k8s.core.v1.LimitRangeArgs, opts);
    case "networking.k8s.io/v1 NetworkPolicy":
      return new k8s.networking.v1.NetworkPolicy(name, args as k8s.networking.v1.NetworkPolicyArgs, opts);
    case "apiextensions.k8s.io/v1 CustomResourceDefinition":
      return new k8s.apiextensions.v1.CustomResourceDefinition(
        name,
        args as unknown as k8s.apiextensions.v1.CustomResourceDefinitionArgs,
        opts,
      );
    case "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy":
      return new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
        name,
        args as k8s.admissionregistration.v1.ValidatingAdmissionPolicyArgs,
        opts,
      );
    case "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding":
      return new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
        name,
        args as k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingArgs,
        opts,
      );
    default:
      return new k8s.apiextensions.CustomResource(name, args, opts);
  }
}
