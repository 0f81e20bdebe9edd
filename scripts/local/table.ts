/** The devices-and-modules table `npm run local` prints. Pure. */

export interface ModuleRow {
  readonly name: string;
  readonly runtimeStatus: string;
  readonly restartCount: number;
}

export interface DeviceRow {
  readonly deviceId: string;
  readonly namespace: string;
  readonly ready: boolean;
  readonly modules: readonly ModuleRow[];
}

/** Every device reports Ready (its desired state is met) and has its modules listed. */
export function settled(rows: readonly DeviceRow[]): boolean {
  return rows.length > 0 && rows.every((r) => r.ready && r.modules.length > 0);
}

/** Rows as left-aligned columns two spaces apart, without trailing blanks. */
function columns(lines: readonly (readonly string[])[]): string {
  const widths = (lines[0] ?? []).map((_, c) => Math.max(...lines.map((l) => (l[c] ?? "").length)));
  return lines
    .map((l) =>
      l
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function formatTable(rows: readonly DeviceRow[]): string {
  if (rows.length === 0) return "no EdgeDeployments in the cluster";
  const header = ["DEVICE", "NAMESPACE", "READY", "MODULE", "STATUS", "RESTARTS"];
  const lines: string[][] = [header];
  const sorted = [...rows].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  for (const row of sorted) {
    const modules = [...row.modules].sort((a, b) => a.name.localeCompare(b.name));
    if (modules.length === 0) lines.push([row.deviceId, row.namespace, row.ready ? "yes" : "no", "-", "-", "-"]);
    modules.forEach((m, i) =>
      lines.push([
        i === 0 ? row.deviceId : "",
        i === 0 ? row.namespace : "",
        i === 0 ? (row.ready ? "yes" : "no") : "",
        m.name,
        m.runtimeStatus,
        String(m.restartCount),
      ]),
    );
  }
  return columns(lines);
}

/** One EdgeRelease as `npm run local` prints it. */
export interface ReleaseRow {
  readonly name: string;
  readonly track: string;
  readonly priority: number;
  /** The rollout's `edgek8s.state` label, "" when it has none. */
  readonly state: string;
  readonly target: string;
  /** IoT Hub's system metrics from the release's status. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly applied: readonly string[];
}

/** Which devices each release is applied on, with IoT Hub's counts; tracks together, highest priority first. */
export function formatReleases(rows: readonly ReleaseRow[]): string {
  if (rows.length === 0) return "no EdgeReleases in the cluster";
  const header = [
    "RELEASE",
    "TRACK",
    "PRIORITY",
    "STATE",
    "TARGET",
    "TARGETED",
    "APPLIED",
    "OK",
    "FAILED",
    "APPLIED ON",
  ];
  const count = (row: ReleaseRow, key: string) => String(row.metrics[key] ?? 0);
  const sorted = [...rows].sort((a, b) => a.track.localeCompare(b.track) || b.priority - a.priority);
  const lines = [
    header,
    ...sorted.map((r) => [
      r.name,
      r.track,
      String(r.priority),
      r.state || "-",
      r.target === "" ? '""' : r.target,
      count(r, "targetedCount"),
      count(r, "appliedCount"),
      count(r, "reportedSuccessfulCount"),
      count(r, "reportedFailedCount"),
      r.applied.length === 0 ? "-" : r.applied.join(", "),
    ]),
  ];
  return columns(lines);
}
