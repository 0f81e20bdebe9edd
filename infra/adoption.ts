import type { ObjectSpec } from "./namespace.ts";

/**
 * What the program owns carries `app.kubernetes.io/managed-by: edgek8s-pulumi`, and its writes use
 * that field manager. The Kubernetes provider writes by server-side apply, which creates an object
 * or takes over one that is already there (an upsert): without a guard, `pulumi up` would adopt a
 * namespace someone else made, and `pulumi destroy` would then delete it with everything in it.
 *
 * The guard is the cluster's own: a ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1,
 * Kubernetes ≥ 1.30) that refuses any UPDATE which adds this label to a Namespace or
 * CustomResourceDefinition that did not already carry it. Creating an object with the label is
 * allowed, so are updates of objects the program made; taking over someone else's is refused, for
 * the provider's upsert and for every other writer alike. The program creates the policy and its
 * binding before anything they guard.
 */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "edgek8s-pulumi";
/** The field manager of every server-side apply the program makes (read by the Kubernetes provider). */
export const FIELD_MANAGER_ANNOTATION = "pulumi.com/patchFieldManager";
export const ADOPTION_POLICY = "edgek8s-refuse-adoption";

const carries = (object: string): string =>
  `has(${object}.metadata.labels) && '${MANAGED_BY_LABEL}' in ${object}.metadata.labels && ` +
  `${object}.metadata.labels['${MANAGED_BY_LABEL}'] == '${MANAGED_BY}'`;

export function adoptionPolicyObject(): ObjectSpec {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: {
      name: ADOPTION_POLICY,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, "app.kubernetes.io/part-of": "edgek8s" },
    },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [
          { apiGroups: [""], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["namespaces"] },
          {
            apiGroups: ["apiextensions.k8s.io"],
            apiVersions: ["v1"],
            operations: ["UPDATE"],
            resources: ["customresourcedefinitions"],
          },
        ],
      },
      matchConditions: [{ name: "claims-edgek8s-ownership", expression: carries("object") }],
      validations: [
        {
          expression: carries("oldObject"),
          // Invalid (422), not Forbidden: the Kubernetes provider takes a Forbidden dry run as "cannot
          // preview" and moves on, so only Invalid makes `pulumi preview` report the refusal too.
          reason: "Invalid",
          messageExpression:
            `object.kind + ' ' + object.metadata.name + ' already exists and was not made by edgek8s ` +
            `(no ${MANAGED_BY_LABEL}=${MANAGED_BY} label): edgek8s does not adopt it; delete it, or ` +
            `choose another device id or agent namespace'`,
        },
      ],
    },
  };
}

export function adoptionPolicyBindingObject(): ObjectSpec {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: {
      name: ADOPTION_POLICY,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, "app.kubernetes.io/part-of": "edgek8s" },
    },
    spec: { policyName: ADOPTION_POLICY, validationActions: ["Deny"] },
  };
}

/**
 * How the Kubernetes provider deletes: in the background, as kubectl does. Its default, foreground,
 * makes `destroy` wait on an EdgeDeployment until the garbage collector has removed everything the
 * agent made for it (17 s for the local stack's two devices); the namespace's own deletion, which the
 * provider awaits, removes all of that anyway.
 */
export const DELETION_PROPAGATION_ANNOTATION = "pulumi.com/deletionPropagationPolicy";

/** The object with the program's ownership label, field manager and deletion policy added. Pure. */
export function owned(object: ObjectSpec): ObjectSpec {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      labels: { ...object.metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: {
        ...object.metadata.annotations,
        [FIELD_MANAGER_ANNOTATION]: MANAGED_BY,
        [DELETION_PROPAGATION_ANNOTATION]: "background",
      },
    },
  };
}
