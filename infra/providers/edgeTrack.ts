import * as pulumi from "@pulumi/pulumi";
import type { ModulesContent } from "@edgek8s/agent";
import type { ReleaseSummary } from "./edgeTrackPlan.ts";
import type { EdgeTrackInputs, EdgeTrackOutputs } from "./edgeTrackOps.ts";
import { hubProvider } from "./hubProvider.ts";

/** Its work is edgeTrackOps.ts, loaded by package name when a method runs (hubProvider.ts). */
const provider = hubProvider<EdgeTrackInputs, EdgeTrackOutputs>("@edgek8s/infra/providers/edgeTrackOps.ts");

export interface EdgeTrackArgs {
  /** registryReadWrite connection string: configurations are registry operations (RegistryRead + RegistryWrite). */
  readonly hubConnectionString: pulumi.Input<string>;
  readonly hubHostName: pulumi.Input<string>;
  /** `<project>.<stack>`, the `edgek8s.stack` label. */
  readonly stackId: string;
  readonly track: string;
  readonly layer: boolean;
  readonly trackIndex: number;
  readonly target: string;
  readonly stagedTarget: string;
  readonly modulesContent: ModulesContent;
  readonly metrics: Readonly<Record<string, string>>;
  readonly retain: number;
  /** Per call, how long to keep retrying IoT Hub's throttling (429) and unavailability (503). */
  readonly retryBudgetSeconds?: number;
}

/** Keys that never leave the state unencrypted. */
export const EDGE_TRACK_SECRETS = ["hubConnectionString"];

const DEFAULT_RETRY_BUDGET_SECONDS = 600;

/** Whether the content holds a password (a registry credential of `$edgeAgent`'s runtime), at any depth. */
export function holdsPassword(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  return Object.entries(value).some(
    ([key, v]) => (key.toLowerCase() === "password" && typeof v === "string" && v !== "") || holdsPassword(v),
  );
}

/**
 * One track of IoT Edge releases on IoT Hub (ROLLOUT.md §B3): a configuration per content version,
 * the first one stable and the later ones staged for the rollout, kept for fallback and rollback and
 * garbage-collected beyond `retain`. New content updates this resource in place — it is never
 * replaced, because a replacement would delete the release devices fall back on.
 */
export class EdgeTrack extends pulumi.dynamic.Resource {
  declare readonly releaseId: pulumi.Output<string>;
  declare readonly stableId: pulumi.Output<string>;
  declare readonly candidateId: pulumi.Output<string>;
  declare readonly releases: pulumi.Output<ReleaseSummary[]>;

  constructor(name: string, args: EdgeTrackArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      {
        hubConnectionString: pulumi.secret(args.hubConnectionString),
        hubHostName: args.hubHostName,
        stackId: args.stackId,
        track: args.track,
        layer: args.layer,
        trackIndex: args.trackIndex,
        target: args.target,
        stagedTarget: args.stagedTarget,
        // IoT Hub holds the content in the clear; the state does not, when it carries a registry password.
        modulesContent: holdsPassword(args.modulesContent)
          ? pulumi.secret<Record<string, unknown>>(args.modulesContent)
          : args.modulesContent,
        metrics: args.metrics,
        retain: args.retain,
        retryBudgetSeconds: args.retryBudgetSeconds ?? DEFAULT_RETRY_BUDGET_SECONDS,
        releaseId: undefined,
        stableId: undefined,
        candidateId: undefined,
        releases: undefined,
      },
      { ...opts, additionalSecretOutputs: EDGE_TRACK_SECRETS },
      "edgek8s",
      "EdgeTrack",
    );
  }
}
