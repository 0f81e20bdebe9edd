import type { RingTally } from "./classify.ts";

/**
 * What a rollout run tells people and CI: one event per transition, progress when a ring's numbers
 * change, a table row per ring, and a summary. Human lines, or one JSON object per line (`--json`),
 * and a Markdown summary for `$GITHUB_STEP_SUMMARY`. Pure formatting.
 */
export interface RingRow {
  readonly ring: string;
  readonly applied: number;
  readonly tally: RingTally;
}

export type RolloutEvent =
  | {
      readonly type: "transition";
      readonly time: string;
      readonly track: string;
      readonly release: string;
      readonly state: string;
      readonly ring: string;
      readonly reason?: string;
      readonly message: string;
    }
  | { readonly type: "progress"; readonly time: string; readonly row: RingRow }
  | { readonly type: "ring"; readonly time: string; readonly row: RingRow }
  | { readonly type: "info"; readonly time: string; readonly message: string }
  | {
      readonly type: "summary";
      readonly time: string;
      readonly track: string;
      readonly release: string | undefined;
      readonly stable: string | undefined;
      readonly state: string;
      readonly exit: number;
      readonly rings: readonly RingRow[];
      readonly usage: readonly string[];
      readonly elapsedSeconds: number;
    }
  | { readonly type: "error"; readonly time: string; readonly message: string; readonly exit: number };

const COLUMNS = ["ring", "expected", "applied", "succeeded", "failed", "unreachable", "pending"] as const;

function cells(row: RingRow): string[] {
  const t = row.tally;
  return [row.ring, ...[t.expected, row.applied, t.succeeded, t.failed, t.unreachable, t.pending].map(String)];
}

/** The per-ring table, aligned, then the failing devices with their error and the unreachable ones. */
export function ringTable(rows: readonly RingRow[]): string[] {
  if (rows.length === 0) return [];
  const table = [[...COLUMNS], ...rows.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const lines = table.map((r) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "),
  );
  for (const row of rows) {
    for (const f of row.tally.failing.slice(0, 20)) lines.push(`  ${row.ring} failing: ${f.deviceId}: ${f.reason}`);
    if (row.tally.unreachableDevices.length > 0)
      lines.push(`  ${row.ring} unreachable: ${row.tally.unreachableDevices.slice(0, 20).join(", ")}`);
  }
  return lines;
}

function progressLine(row: RingRow): string {
  const t = row.tally;
  return `ring ${row.ring}: ${t.succeeded}/${t.expected} succeeded, ${t.failed} failed, ${t.unreachable} unreachable, ${t.pending} pending`;
}

/** Human lines for an event (none for events only JSON readers want). */
export function humanLines(event: RolloutEvent): string[] {
  const clock = event.time.slice(11, 19);
  switch (event.type) {
    case "transition":
      return [`${clock} ${event.track} ${event.release}: ${event.state} — ${event.message}`];
    case "progress":
      return [`${clock} ${progressLine(event.row)}`];
    case "ring":
      return [];
    case "info":
      return [`${clock} ${event.message}`];
    case "error":
      return [`edgek8s rollout: ${event.message}`];
    case "summary":
      return [
        "",
        `${event.track}: ${event.state} (exit ${event.exit}) after ${event.elapsedSeconds.toFixed(1)} s; release ${event.release ?? "none"}, stable ${event.stable ?? "none"}`,
        ...ringTable(event.rings),
        ...(event.usage.length > 0 ? [`service calls: ${event.usage.join("; ")}`] : []),
      ];
  }
}

const md = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The Markdown written to `$GITHUB_STEP_SUMMARY`: what the run did, per ring, and who failed. */
export function markdownSummary(event: Extract<RolloutEvent, { type: "summary" }>): string {
  const lines = [
    `### edgek8s rollout \`${event.track}\`: ${event.state} (exit ${event.exit})`,
    "",
    `Release \`${event.release ?? "none"}\`, stable \`${event.stable ?? "none"}\`, ${event.elapsedSeconds.toFixed(0)} s.`,
    "",
  ];
  if (event.rings.length > 0) {
    lines.push(`| ${COLUMNS.join(" | ")} |`, `|${COLUMNS.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`);
    for (const row of event.rings) lines.push(`| ${cells(row).map(md).join(" | ")} |`);
    const failing = event.rings.flatMap((r) => r.tally.failing.slice(0, 20).map((f) => ({ ring: r.ring, ...f })));
    if (failing.length > 0) {
      lines.push("", "| failing device | ring | error |", "| --- | --- | --- |");
      for (const f of failing) lines.push(`| ${md(f.deviceId)} | ${md(f.ring)} | ${md(f.reason)} |`);
    }
    const unreachable = event.rings.flatMap((r) => r.tally.unreachableDevices);
    if (unreachable.length > 0) lines.push("", `Unreachable: ${unreachable.slice(0, 50).map(md).join(", ")}`);
  }
  if (event.usage.length > 0) lines.push("", `Service calls: ${event.usage.map(md).join("; ")}`);
  return `${lines.join("\n")}\n`;
}
