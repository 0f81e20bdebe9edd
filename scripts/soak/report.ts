import { FAULT_WEIGHTS, type FaultKind } from "./faults.ts";
import type { SoakResult } from "./soak.ts";

/** Invariants the soak checks, in the order the summary lists them (each with its count, zeros too). */
export const INVARIANTS = [
  "write outside the writer's lease term",
  "observedGeneration going backwards",
  "object of a wanted module deleted",
  "claim deleted that should be kept",
  "write to an invalid device's objects",
  "no convergence within",
  "fleet not Ready within",
  "write at rest besides Lease renewals",
  "RSS growing",
  "stack trace in logs",
  "secret in logs",
  "log line not JSON",
  "agent exited with an error",
] as const;

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "))
    .join("\n");
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/** The summary a person reads after a soak: faults by kind with convergence times, then every invariant. */
export function formatReport(result: SoakResult): string {
  const faultRows: string[][] = [["fault", "count", "converged p50 s", "max s", "Ready max s"]];
  for (const kind of Object.keys(FAULT_WEIGHTS) as FaultKind[]) {
    const times = result.faults
      .filter((f) => f.kind === kind && f.convergedMs !== undefined)
      .map((f) => f.convergedMs!)
      .sort((a, b) => a - b);
    const count = result.faults.filter((f) => f.kind === kind).length;
    const ready = result.faults.filter((f) => f.kind === kind && f.readyMs !== undefined).map((f) => f.readyMs!);
    faultRows.push([
      kind,
      String(count),
      times.length > 0 ? seconds(times[Math.floor((times.length - 1) / 2)]!) : "-",
      times.length > 0 ? seconds(times.at(-1)!) : "-",
      ready.length > 0 ? seconds(Math.max(...ready)) : "-",
    ]);
  }
  faultRows.push(["total", String(result.faults.length), "", "", ""]);
  const invariantRows: string[][] = [["invariant", "violations"]];
  for (const name of INVARIANTS)
    invariantRows.push([name, String(result.violations.filter((v) => v.invariant.startsWith(name)).length)]);
  const writes = Object.entries(result.agentWrites)
    .map(([who, n]) => `${who} ${n}`)
    .join(", ");
  const lines = [
    `soak: seed ${result.seed}, ${result.minutes.toFixed(1)} min, ${result.devices} devices, ${result.processes} agent processes`,
    "",
    table(faultRows),
    "",
    table(invariantRows),
    "",
    `agent writes besides Lease renewals: ${writes}; lease takeovers: ${result.leaseTakeovers}; writes at rest: ${result.writesAtRest}`,
    `writes refused by a replica's fence (never sent): ${result.refusedWrites}`,
    `agent RSS: ${mb(result.rssBytes.min)}–${mb(result.rssBytes.max)} MB; trend (median of first → last third) of the processes that lived ≥ 4 min: ${
      result.rssTrends
        .map((t) => `${t.process} ${t.minutes.toFixed(1)} min ${mb(t.first)} → ${mb(t.last)} MB`)
        .join(", ") || "none lived that long"
    }`,
    `result: ${result.violations.length === 0 ? "PASS, no violation" : `FAIL, ${result.violations.length} violations`}`,
  ];
  if (result.violations.length > 0) {
    lines.push("", "violations (first 40):");
    for (const v of result.violations.slice(0, 40)) lines.push(`  ${v.invariant}: ${v.detail}`);
  }
  return lines.join("\n");
}
