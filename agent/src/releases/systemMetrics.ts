import type { EnginePlan, ReleaseOutcome } from "./engine.ts";
import type { DeviceReport } from "./observed.ts";
import type { EdgeReleaseStatus } from "../crd/edgeRelease.ts";

/**
 * An EdgeRelease's status after one evaluation: the devices it is Applied and Targeted on, and IoT
 * Hub's four system metrics computed the way IoT Hub's own queries define them (Azure CLI fixture
 * `test_config_modules_show.json`, `how-to-monitor-iot-edge-deployments.md`; ROLLOUT.md §A1):
 * - targetedCount: `select deviceId from devices where capabilities.iotEdge = true and <condition>`,
 *   so every device the condition matches, whether the release won there or not;
 * - appliedCount: `… devices.modules where moduleId = '$edgeAgent' and configurations.[[id]].status = 'Applied'`;
 * - reportedSuccessfulCount: applied `and properties.desired.$version = properties.reported.lastDesiredVersion
 *   and properties.reported.lastDesiredStatus.code = 200`;
 * - reportedFailedCount: the same with `code != 200` — a device that never reported a code is in
 *   neither (a comparison with an undefined property is not true).
 * The desired version is the one this evaluation leaves on the device (after its own writes).
 */
export const SYSTEM_METRICS = ["targetedCount", "appliedCount", "reportedSuccessfulCount", "reportedFailedCount"];

export interface StatusInputs {
  readonly generation: number;
  readonly outcome: ReleaseOutcome | undefined;
  /** Device id → its desired version once this evaluation's writes are done. */
  readonly desiredVersions: ReadonlyMap<string, number | undefined>;
  readonly reports: ReadonlyMap<string, DeviceReport>;
  /** Devices whose write failed in this evaluation: still targeted, not applied (nothing reached them). */
  readonly undelivered?: ReadonlySet<string>;
  /** Why the release's content cannot be used; it then targets nothing. */
  readonly contentError?: string | undefined;
}

export function releaseStatus(inputs: StatusInputs): EdgeReleaseStatus {
  const matched = [...(inputs.outcome?.applied ?? []), ...(inputs.outcome?.targeted ?? [])];
  const applied = (inputs.outcome?.applied ?? []).filter((id) => inputs.undelivered?.has(id) !== true);
  const targeted = inputs.outcome?.targeted ?? [];
  let successful = 0;
  let failed = 0;
  for (const deviceId of applied) {
    const desired = inputs.desiredVersions.get(deviceId);
    const report = inputs.reports.get(deviceId);
    if (desired === undefined || report?.lastDesiredVersion !== desired || report.lastDesiredCode === undefined)
      continue;
    if (report.lastDesiredCode === 200) successful++;
    else failed++;
  }
  const conditionError = inputs.outcome?.conditionError;
  return {
    observedGeneration: inputs.generation,
    applied: [...applied],
    targeted: [...targeted],
    systemMetrics: {
      targetedCount: matched.length,
      appliedCount: applied.length,
      reportedSuccessfulCount: successful,
      reportedFailedCount: failed,
    },
    ...(conditionError !== undefined ? { conditionError } : {}),
    ...(inputs.contentError !== undefined ? { contentError: inputs.contentError } : {}),
  };
}

/** Device id → desired version after the plan's writes (written ones bumped, the rest as they are). */
export function desiredVersionsAfter(
  plan: EnginePlan,
  devices: readonly { readonly deviceId: string; readonly desiredVersion: number | undefined }[],
  failed: ReadonlySet<string> = new Set(),
): Map<string, number | undefined> {
  const versions = new Map(devices.map((d) => [d.deviceId, d.desiredVersion]));
  for (const update of plan.updates)
    if (!failed.has(update.deviceId)) versions.set(update.deviceId, update.desiredVersion);
  return versions;
}
