import { targetConditionProblem } from "../releases/condition.ts";

/**
 * The ring plan and gates of a stack (`edgek8s:rollout`, ROLLOUT.md §B2): parsed and validated once,
 * here, for `pulumi preview` and for `edgek8s rollout`, so both read the same plan the same way.
 * Rings are cumulative slices of a track: explicit devices by condition (`select`) and/or a
 * percentage of the stable per-device bucket (`percent`); the last ring is the whole track.
 */
export interface Ring {
  readonly name: string;
  readonly select?: string;
  readonly percent?: number;
  readonly bakeMs: number;
  readonly gate: "auto" | "manual";
  /** Failures tolerated in this ring before it aborts; the canary default is 0. */
  readonly maxFailures?: number;
}

export interface Gates {
  readonly applyTimeoutMs: number;
  readonly reportTimeoutMs: number;
  readonly readyGraceMs: number;
  readonly successPercent: number;
  readonly maxFailurePercent: number;
  readonly minExecuted: number;
  readonly staleAfterMs: number;
  readonly maxUnreachablePercent: number;
}

export interface RolloutPlan {
  readonly rings: readonly Ring[];
  readonly gates: Gates;
  readonly onFailure: "rollback" | "halt";
  readonly pollIntervalMs: number;
}

export interface PlanProblem {
  readonly path: string;
  readonly message: string;
}

const MINUTE = 60_000;
export const DEFAULT_GATES: Gates = {
  applyTimeoutMs: 10 * MINUTE,
  reportTimeoutMs: 15 * MINUTE,
  readyGraceMs: 5 * MINUTE,
  successPercent: 100,
  maxFailurePercent: 5,
  minExecuted: 3,
  staleAfterMs: 15 * MINUTE,
  maxUnreachablePercent: 20,
};

/** The plan when a stack sets none: one ring, the whole track. */
export const DEFAULT_PLAN: RolloutPlan = {
  rings: [{ name: "all", percent: 100, bakeMs: 0, gate: "auto" }],
  gates: DEFAULT_GATES,
  onFailure: "rollback",
  pollIntervalMs: 30_000,
};

const RING_NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: MINUTE, h: 60 * MINUTE };

/** "90s", "15m", "1h30m", "0" → milliseconds; undefined when it does not parse. */
export function parseDuration(text: string): number | undefined {
  if (text.trim() === "0") return 0;
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text.trim()) return undefined;
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0));
}

class Reader {
  readonly problems: PlanProblem[] = [];
  problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }
  object(value: unknown, path: string): Record<string, unknown> | undefined {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    this.problem(path, "expected an object");
    return undefined;
  }
  unknownKeys(object: Record<string, unknown>, known: readonly string[], path: string): void {
    for (const key of Object.keys(object)) {
      if (!known.includes(key)) this.problem(`${path}.${key}`, `unknown key; expected one of ${known.join(", ")}`);
    }
  }
  duration(value: unknown, path: string, fallback: number): number {
    if (value === undefined) return fallback;
    const ms = typeof value === "string" ? parseDuration(value) : undefined;
    if (ms === undefined)
      this.problem(path, `expected a duration such as "90s", "15m" or "1h"; got ${JSON.stringify(value)}`);
    return ms ?? fallback;
  }
  number(value: unknown, path: string, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      this.problem(path, `expected a number from ${min} to ${max}; got ${JSON.stringify(value)}`);
      return fallback;
    }
    return value;
  }
  oneOf<T extends string>(value: unknown, path: string, options: readonly T[], fallback: T): T {
    if (value === undefined) return fallback;
    if (typeof value === "string" && (options as readonly string[]).includes(value)) return value as T;
    this.problem(path, `expected one of ${options.join(", ")}; got ${JSON.stringify(value)}`);
    return fallback;
  }
}

function readRing(r: Reader, raw: unknown, path: string): Ring | undefined {
  const ring = r.object(raw, path);
  if (!ring) return undefined;
  r.unknownKeys(ring, ["name", "select", "percent", "bake", "gate", "maxFailures"], path);
  const name = typeof ring["name"] === "string" ? ring["name"] : "";
  if (!RING_NAME.test(name)) r.problem(`${path}.name`, "expected 1–40 characters of lowercase letters, digits and '-'");
  let select: string | undefined;
  if (ring["select"] !== undefined) {
    if (typeof ring["select"] !== "string") r.problem(`${path}.select`, "expected an IoT Hub condition string");
    else {
      const problem = targetConditionProblem(ring["select"]);
      if (problem !== undefined) r.problem(`${path}.select`, problem);
      select = ring["select"];
    }
  }
  const percent = ring["percent"] === undefined ? undefined : r.number(ring["percent"], `${path}.percent`, 0, 1, 100);
  if (select === undefined && percent === undefined && ring["select"] === undefined) {
    r.problem(path, "a ring needs `select` (a condition), `percent` (1–100), or both");
  }
  if (percent !== undefined && !Number.isInteger(percent)) r.problem(`${path}.percent`, "expected a whole number");
  const maxFailures =
    ring["maxFailures"] === undefined
      ? undefined
      : r.number(ring["maxFailures"], `${path}.maxFailures`, 0, 0, 1_000_000);
  return {
    name,
    ...(select !== undefined ? { select } : {}),
    ...(percent !== undefined ? { percent } : {}),
    bakeMs: r.duration(ring["bake"], `${path}.bake`, 0),
    gate: r.oneOf(ring["gate"], `${path}.gate`, ["auto", "manual"], "auto"),
    ...(maxFailures !== undefined ? { maxFailures } : {}),
  };
}

/**
 * IoT Hub's pace, which a hub stack's plan must fit: it evaluates deployments about every 5 minutes
 * (`iot-hub-automatic-device-management.md`) and allows 20 queries a minute per S1 unit
 * (`iot-hub-devguide-quotas-throttling.md`). A local stack's release engine has neither limit, so its
 * rehearsals may run in seconds.
 */
export interface PlanTarget {
  readonly hub: boolean;
}

function readGates(r: Reader, raw: unknown, path: string, target: PlanTarget): Gates {
  if (raw === undefined) return DEFAULT_GATES;
  const g = r.object(raw, path);
  if (!g) return DEFAULT_GATES;
  const keys = [
    "applyTimeout",
    "reportTimeout",
    "readyGrace",
    "successPercent",
    "maxFailurePercent",
    "minExecuted",
    "staleAfter",
    "maxUnreachablePercent",
  ];
  r.unknownKeys(g, keys, path);
  const d = DEFAULT_GATES;
  const gates: Gates = {
    applyTimeoutMs: r.duration(g["applyTimeout"], `${path}.applyTimeout`, d.applyTimeoutMs),
    reportTimeoutMs: r.duration(g["reportTimeout"], `${path}.reportTimeout`, d.reportTimeoutMs),
    readyGraceMs: r.duration(g["readyGrace"], `${path}.readyGrace`, d.readyGraceMs),
    successPercent: r.number(g["successPercent"], `${path}.successPercent`, d.successPercent, 1, 100),
    maxFailurePercent: r.number(g["maxFailurePercent"], `${path}.maxFailurePercent`, d.maxFailurePercent, 0, 100),
    minExecuted: r.number(g["minExecuted"], `${path}.minExecuted`, d.minExecuted, 1, 1_000_000),
    staleAfterMs: r.duration(g["staleAfter"], `${path}.staleAfter`, d.staleAfterMs),
    maxUnreachablePercent: r.number(
      g["maxUnreachablePercent"],
      `${path}.maxUnreachablePercent`,
      d.maxUnreachablePercent,
      0,
      100,
    ),
  };
  if (target.hub && gates.applyTimeoutMs < 6 * MINUTE) {
    r.problem(`${path}.applyTimeout`, "must be at least 6m: IoT Hub evaluates deployments about every 5 minutes");
  }
  return gates;
}

/** Parses `edgek8s:rollout` (undefined → the one-ring default); every problem is reported with its key. */
export function parseRolloutPlan(
  raw: unknown,
  path = "edgek8s:rollout",
  target: PlanTarget = { hub: true },
): { ok: true; plan: RolloutPlan } | { ok: false; problems: PlanProblem[] } {
  if (raw === undefined) return { ok: true, plan: DEFAULT_PLAN };
  const r = new Reader();
  const top = r.object(raw, path);
  if (!top) return { ok: false, problems: r.problems };
  r.unknownKeys(top, ["rings", "gates", "onFailure", "pollInterval"], path);
  const rawRings = top["rings"];
  const rings: Ring[] = [];
  if (!Array.isArray(rawRings) || rawRings.length === 0)
    r.problem(`${path}.rings`, "expected a list of at least one ring");
  else
    rawRings.forEach((raw, i) => {
      const ring = readRing(r, raw, `${path}.rings[${i}]`);
      if (ring) rings.push(ring);
    });
  const names = new Set<string>();
  let lastPercent = 0;
  rings.forEach((ring, i) => {
    if (names.has(ring.name)) r.problem(`${path}.rings[${i}].name`, `"${ring.name}" is used by an earlier ring`);
    names.add(ring.name);
    if (ring.percent !== undefined) {
      if (ring.percent <= lastPercent) {
        r.problem(
          `${path}.rings[${i}].percent`,
          `rings are cumulative: ${ring.percent} must be above the earlier ${lastPercent}`,
        );
      }
      lastPercent = ring.percent;
    }
  });
  const last = rings.at(-1);
  if (last && last.percent !== 100) {
    r.problem(`${path}.rings[${rings.length - 1}]`, "the last ring must be `percent: 100` (the whole track)");
  }
  const plan: RolloutPlan = {
    rings,
    gates: readGates(r, top["gates"], `${path}.gates`, target),
    onFailure: r.oneOf(top["onFailure"], `${path}.onFailure`, ["rollback", "halt"], "rollback"),
    pollIntervalMs: r.duration(top["pollInterval"], `${path}.pollInterval`, DEFAULT_PLAN.pollIntervalMs),
  };
  if (target.hub && plan.pollIntervalMs < 5000)
    r.problem(`${path}.pollInterval`, "must be at least 5s (IoT Hub's query throttle)");
  if (plan.pollIntervalMs < 100) r.problem(`${path}.pollInterval`, "must be at least 100ms");
  return r.problems.length > 0 ? { ok: false, problems: r.problems } : { ok: true, plan };
}

/** The bucket tag percentage rings select on (`tags.edgek8s.bucket`, 0–99, written by Pulumi). */
export const BUCKET_PATH = "tags.edgek8s.bucket";

function ringSlice(ring: Ring): string {
  const parts = [
    ...(ring.select !== undefined ? [`(${ring.select})`] : []),
    ...(ring.percent !== undefined ? [`${BUCKET_PATH} < ${ring.percent}`] : []),
  ];
  return parts.join(" OR ");
}

/**
 * The candidate's target condition at each ring: the track's target AND the union of every ring so
 * far. The last ring (100 %) is the track target alone, so devices without a bucket are covered too.
 */
export function ringConditions(trackTarget: string, rings: readonly Ring[]): string[] {
  return rings.map((ring, i) => {
    if (ring.percent === 100) return trackTarget;
    const slices = rings.slice(0, i + 1).map(ringSlice);
    return `(${trackTarget}) AND (${slices.join(" OR ")})`;
  });
}
