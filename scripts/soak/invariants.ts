import type { AuditEntry } from "../cluster/audit.ts";
import type { Desired } from "./fleet.ts";

/** One spec the soak wrote for a device: from just before it was sent until the next one was acknowledged. */
export interface SpecVersion {
  readonly namespace: string;
  /** Before the request left (the agent cannot have seen it earlier). */
  readonly sentAt: number;
  /** After the API server answered (every watcher may have seen it from then on). */
  readonly ackedAt: number;
  readonly desired: Desired;
}

const KIND_OF: Readonly<Record<string, string>> = {
  deployments: "Deployment",
  services: "Service",
  serviceaccounts: "ServiceAccount",
  secrets: "Secret",
  persistentvolumeclaims: "PersistentVolumeClaim",
};

const WRITE_VERBS = new Set(["create", "update", "patch", "delete", "deletecollection"]);

/** Writes by the replicas to the objects they make for devices (not status, not events, not dry runs). */
function objectWrites(entries: readonly AuditEntry[], replicas: readonly string[]): AuditEntry[] {
  return entries.filter(
    (e) => replicas.includes(e.user) && !e.dryRun && WRITE_VERBS.has(e.verb) && KIND_OF[e.resource] !== undefined,
  );
}

function versionsIn(versions: readonly SpecVersion[], namespace: string | undefined): SpecVersion[] {
  return versions.filter((v) => v.namespace === namespace).sort((a, b) => a.sentAt - b.sentAt);
}

export interface Violation {
  readonly invariant: string;
  readonly detail: string;
}

const describe = (e: AuditEntry) =>
  `${new Date(e.time).toISOString()} ${e.user.split(":").at(-1) ?? e.user} ${e.verb} ${e.resource} ${e.namespace ?? ""}/${e.name ?? ""}`;

/**
 * Deletes of an object some spec still wanted: a delete is legitimate only when a valid spec that
 * does not want the object was current within `slackMs` before it (the agent acts on what it read a
 * moment ago). A claim may be deleted only when its module opted in (`pvcRetention: Delete`).
 */
export function wrongDeletes(
  entries: readonly AuditEntry[],
  versions: readonly SpecVersion[],
  replicas: readonly string[],
  slackMs: number,
): Violation[] {
  const violations: Violation[] = [];
  for (const e of objectWrites(entries, replicas).filter((w) => w.verb === "delete")) {
    const ref = `${KIND_OF[e.resource] ?? ""}/${e.name ?? ""}`;
    const timeline = versionsIn(versions, e.namespace);
    const unwantedRecently = timeline.some((v, i) => {
      const until = (timeline[i + 1]?.ackedAt ?? Infinity) + slackMs;
      return v.desired.valid && !v.desired.objects.has(ref) && v.sentAt <= e.time && e.time <= until;
    });
    const claim = e.resource === "persistentvolumeclaims";
    const deletable = !claim || timeline.some((v) => v.desired.deletableClaims.has(e.name ?? ""));
    if (!unwantedRecently || !deletable)
      violations.push({
        invariant: claim ? "claim deleted that should be kept" : "object of a wanted module deleted",
        detail: describe(e),
      });
  }
  return violations;
}

/**
 * Writes to a device's objects while its spec was invalid (after `graceMs` for a pass that read the
 * last valid spec to finish): the agent must keep the last valid objects untouched.
 */
export function writesToInvalidDevices(
  entries: readonly AuditEntry[],
  versions: readonly SpecVersion[],
  replicas: readonly string[],
  graceMs: number,
): Violation[] {
  return objectWrites(entries, replicas)
    .filter((e) => {
      const timeline = versionsIn(versions, e.namespace);
      return timeline.some(
        (v, i) => !v.desired.valid && v.ackedAt + graceMs <= e.time && e.time < (timeline[i + 1]?.sentAt ?? Infinity),
      );
    })
    .map((e) => ({ invariant: "write to an invalid device's objects", detail: describe(e) }));
}

/** Writes by the replicas other than Lease renewals and dry runs (counted over a window at rest). */
export function writesBesidesLeases(entries: readonly AuditEntry[], replicas: readonly string[]): AuditEntry[] {
  return entries.filter((e) => replicas.includes(e.user) && e.resource !== "leases" && !e.dryRun);
}

/** Log lines a person must never see: stack traces, secrets, or lines that are not JSON. */
export function logProblems(lines: readonly string[], secrets: readonly string[], source: string): Violation[] {
  const violations: Violation[] = [];
  for (const line of lines) {
    const secret = secrets.find((s) => s !== "" && line.includes(s));
    if (secret !== undefined)
      violations.push({
        invariant: "secret in logs",
        detail: `${source}: a line holds a secret (${secret.length} chars)`,
      });
    if (/(?:\\n|^)\s+at \S.*:\d+:\d+|"stack"\s*:/.test(line))
      violations.push({ invariant: "stack trace in logs", detail: `${source}: ${line.slice(0, 200)}` });
    else if (!isJson(line))
      violations.push({ invariant: "log line not JSON", detail: `${source}: ${line.slice(0, 200)}` });
  }
  return violations;
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

export interface RssSample {
  readonly at: number;
  readonly bytes: number;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/**
 * Whether one process's memory grows over its life: after `warmupMs`, the median of the last third
 * of the samples exceeds that of the first third by more than `tolerance` (a fraction) and
 * `minimumBytes`. Undefined when the process lived too short (`minimumSpanMs`) to judge.
 */
export function rssTrend(
  samples: readonly RssSample[],
  options: { warmupMs: number; minimumSpanMs: number; tolerance: number; minimumBytes: number },
): { growing: boolean; first: number; last: number } | undefined {
  const start = samples[0]?.at ?? 0;
  const settled = samples.filter((s) => s.at - start >= options.warmupMs);
  if (settled.length < 6 || settled.at(-1)!.at - settled[0]!.at < options.minimumSpanMs) return undefined;
  const third = Math.floor(settled.length / 3);
  const first = median(settled.slice(0, third).map((s) => s.bytes));
  const last = median(settled.slice(-third).map((s) => s.bytes));
  return { growing: last > first * (1 + options.tolerance) && last - first > options.minimumBytes, first, last };
}
