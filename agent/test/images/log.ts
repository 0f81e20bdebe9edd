/** One JSON line on stdout per event: what the real-node tests read through `kubectl logs`. */
export function logEvent(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, module: process.env["IOTEDGE_MODULEID"], ...fields })}\n`);
}

export const port = (): number => Number(process.env["PORT"] ?? 8081);
