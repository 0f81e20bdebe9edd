import type { V1Probe } from "@kubernetes/client-node";
import type { Warnings } from "./warnings.ts";
import type { ModuleSpec } from "../manifest/model.ts";

const NANOS_PER_SECOND = 1e9;
/** Docker's Healthcheck defaults: every 30 s, 30 s timeout, 3 retries. */
const DOCKER_DEFAULT = { intervalSeconds: 30, timeoutSeconds: 30, retries: 3 };

function seconds(nanos: number | undefined, fallback: number): number {
  return nanos ? Math.max(1, Math.ceil(nanos / NANOS_PER_SECOND)) : fallback;
}

/** Docker `Healthcheck` → liveness probe, so `on-unhealthy` restarts for real. */
export function livenessProbe(module: ModuleSpec, warnings: Warnings): V1Probe | undefined {
  const check = module.createOptions.Healthcheck;
  const test = check?.Test;
  if (!check || !test) return undefined;
  const [kind, ...rest] = test;
  let command: string[];
  if (kind === "NONE") return undefined;
  if (kind === "CMD") command = rest;
  else if (kind === "CMD-SHELL") command = ["/bin/sh", "-c", rest.join(" ")];
  else {
    warnings.addCreateOption(
      module,
      ["Healthcheck", "Test"],
      `must start with "CMD", "CMD-SHELL" or "NONE"; no probe made`,
    );
    return undefined;
  }
  if (command.length === 0) {
    warnings.addCreateOption(module, ["Healthcheck", "Test"], "has no command; no probe made");
    return undefined;
  }
  const probe: V1Probe = {
    exec: { command },
    periodSeconds: seconds(check.Interval, DOCKER_DEFAULT.intervalSeconds),
    timeoutSeconds: seconds(check.Timeout, DOCKER_DEFAULT.timeoutSeconds),
    failureThreshold: check.Retries || DOCKER_DEFAULT.retries,
  };
  if (check.StartPeriod) probe.initialDelaySeconds = seconds(check.StartPeriod, 0);
  return probe;
}
