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

export function formatTable(rows: readonly DeviceRow[]): string {
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
  if (rows.length === 0) return "no EdgeDeployments in the cluster";
  const widths = header.map((_, c) => Math.max(...lines.map((l) => (l[c] ?? "").length)));
  return lines
    .map((l) =>
      l
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
