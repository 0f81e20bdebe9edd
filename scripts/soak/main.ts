// The soak test: `npm run soak -- --minutes N --seed S [--devices D]`. A full local control plane,
// two agent replicas with leader election, a fleet of devices and random faults; prints a summary
// table and exits 1 when an invariant was violated (see docs/agent.md, "Soak"). --json FILE writes
// the result, --keep DIR keeps the agents' and the control plane's logs.
import { parseArgs } from "node:util";
import { formatReport } from "./report.ts";
import { runSoak } from "./soak.ts";

function number(value: string | undefined, flag: string, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < minimum) {
    process.stderr.write(`--${flag} must be a number ≥ ${minimum}, got "${value}"\n`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    minutes: { type: "string" },
    seed: { type: "string" },
    devices: { type: "string" },
    json: { type: "string" },
    keep: { type: "string" },
  },
});
const minutes = number(values.minutes, "minutes", 9, 2);
const seed = number(values.seed, "seed", Date.now() % 100_000, 0);
const devices = number(values.devices, "devices", 20, 1);
const started = Date.now();
const log = (line: string) => {
  process.stderr.write(`[soak +${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);
};
log(`seed ${seed}, ${minutes} min, ${devices} devices`);
const result = await runSoak({ minutes, seed, devices, progress: log, keepDir: values.keep });
process.stdout.write(`${formatReport(result)}\n`);
if (values.json !== undefined) {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
}
process.exit(result.violations.length === 0 ? 0 : 1);
