import type { Condition, ConditionType } from "../crd/edgeDeployment.ts";

export interface ConditionInput {
  readonly type: ConditionType;
  readonly status: boolean;
  readonly reason: string;
  readonly message: string;
}

/** Conditions for this generation; a condition whose status did not change keeps its transition time. */
export function nextConditions(
  previous: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  generation: number,
  now: string,
): Condition[] {
  return inputs.map((input) => {
    const status = input.status ? "True" : "False";
    const before = previous?.find((c) => c.type === input.type);
    return {
      type: input.type,
      status,
      reason: input.reason,
      message: input.message,
      lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now,
      observedGeneration: generation,
    };
  });
}
