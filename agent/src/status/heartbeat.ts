import type { EdgeDeploymentStatus } from "../crd/edgeDeployment.ts";

/** The status with its heartbeat: the previous one while younger than half the interval, else now. */
export function withHeartbeat(
  status: EdgeDeploymentStatus,
  previous: string | undefined,
  now: Date,
  heartbeatMs: number | undefined,
): EdgeDeploymentStatus {
  if (heartbeatMs === undefined) return status;
  const age = previous === undefined ? Infinity : now.getTime() - Date.parse(previous);
  return { ...status, heartbeat: age < heartbeatMs / 2 ? previous! : now.toISOString() };
}
