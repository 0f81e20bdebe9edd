import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { startControlPlane } from "../cluster/controlPlane.ts";
import { KubeClient } from "../../agent/src/kube/client.ts";
import { clusterConfigFromFile } from "../../agent/src/kube/config.ts";
import { AuditReader } from "../cluster/audit.ts";
import { grantAgentRights, serviceAccountKubeconfig, serviceAccountUser } from "./credentials.ts";
import { FAULT_WEIGHTS, type FaultKind, inject } from "./faults.ts";
import type { DeviceModel } from "./fleet.ts";
import { FleetWriter } from "./fleetWriter.ts";
import {
  type Violation,
  logProblems,
  rssTrend,
  writesBesidesLeases,
  writesToInvalidDevices,
  wrongDeletes,
} from "./invariants.ts";
import { GenerationWatch, waitConverged } from "./observe.ts";
import { Random } from "./random.ts";
import { Replicas } from "./replicas.ts";
import { describeWrite, writesOutsideTerms } from "./terms.ts";

export interface SoakOptions {
  /** Wall time of the run from the agents' start, final checks included. */
  readonly minutes: number;
  readonly seed: number;
  readonly devices?: number;
  readonly leaseSeconds?: number;
  /** Faults must clear into a converged fleet within this. */
  readonly convergenceBoundMs?: number;
  /** Progress lines (one per fault). */
  readonly progress?: (line: string) => void;
  /** Keep the agents' logs and the control plane's logs here. */
  readonly keepDir?: string;
}

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly what: string;
  /** From the fault clearing to a converged fleet, agent side; undefined when not within the bound. */
  readonly convergedMs: number | undefined;
  /** From the fault clearing to every valid device Ready; undefined when not within its bound. */
  readonly readyMs: number | undefined;
}

export interface SoakResult {
  readonly seed: number;
  readonly minutes: number;
  readonly devices: number;
  readonly faults: readonly FaultRecord[];
  readonly violations: readonly Violation[];
  readonly agentWrites: Readonly<Record<string, number>>;
  readonly leaseTakeovers: number;
  /** Writes the replicas' fences refused (a paused leader resuming, a pass outliving its term). */
  readonly refusedWrites: number;
  readonly writesAtRest: number;
  readonly rssBytes: { readonly min: number; readonly max: number };
  /** Per agent process that lived long enough to judge: the median RSS of the first and last third. */
  readonly rssTrends: readonly {
    readonly process: string;
    readonly minutes: number;
    readonly first: number;
    readonly last: number;
  }[];
  readonly processes: number;
}

const CRD_FILE = fileURLToPath(new URL("../../agent/crd/edgedeployments.edgek8s.io.yaml", import.meta.url));
const SYSTEM_NS = "edgek8s-soak";
const LEASE_NAME = "edgek8s-agent";
const REPLICA_NAMES = ["agent-a", "agent-b"];
/** The agent's resync in the soak: the window at rest spans more than one. */
const RESYNC_SECONDS = 15;
const FINAL_PHASE_MS = 60_000;
/** A process is judged after a minute's warm-up, over at least three minutes; growth is > 25 % and > 16 MB. */
const RSS_TREND = { warmupMs: 60_000, minimumSpanMs: 180_000, tolerance: 0.25, minimumBytes: 16 << 20 };

function initialDevices(count: number): DeviceModel[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `soak-dev-${String(i).padStart(2, "0")}`;
    return {
      id,
      namespace: `msiot-soak-${id}`,
      revision: 1,
      withScratch: i % 3 === 0,
      invalid: false,
      registryPassword: randomBytes(12).toString("hex"),
    };
  });
}

/**
 * The soak: a full control plane (kwok nodes, scheduler, controller-manager, volume provisioner),
 * two agent replicas with leader election and their own ServiceAccounts, a fleet of devices, and
 * random faults until the time is up; then the invariants, from the audit log and the live state.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const rng = new Random(options.seed);
  const leaseSeconds = options.leaseSeconds ?? 5;
  const boundMs = options.convergenceBoundMs ?? 60_000;
  const readyBoundMs = 180_000;
  const progress = options.progress ?? (() => undefined);
  const devices = initialDevices(options.devices ?? 20);
  const plane = await startControlPlane({ full: true, nodes: 2, auditLog: true, crdFiles: [CRD_FILE] });
  const dir = mkdtempSync(join(tmpdir(), "edgek8s-soak-"));
  const admin = new KubeClient(clusterConfigFromFile(plane.kubeconfigPath));
  const tokens: string[] = [];
  // Tokens last two hours; a longer run gets new ones (the agent reads its token file every minute).
  const refreshers: (() => Promise<string>)[] = [];
  const tokenRefresh = setInterval(() => {
    for (const refresh of refreshers)
      void refresh().then(
        (t) => tokens.push(t),
        () => undefined,
      );
  }, 30 * 60_000);
  tokenRefresh.unref();
  let replicas: Replicas | undefined;
  let watch: GenerationWatch | undefined;
  try {
    for (const ns of [SYSTEM_NS, ...devices.map((d) => d.namespace)])
      await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    await grantAgentRights(admin, { namespace: SYSTEM_NS, serviceAccounts: REPLICA_NAMES, watch: "all" });
    const ca = readFileSync(plane.pki.caCert, "utf8");
    const specs = [];
    for (const name of REPLICA_NAMES) {
      const account = await serviceAccountKubeconfig(
        plane.kubeConfig(),
        plane.server,
        ca,
        { namespace: SYSTEM_NS, name },
        dir,
      );
      tokens.push(account.token);
      refreshers.push(account.refresh);
      specs.push({
        name,
        kubeconfig: account.path,
        args: [
          "--all-namespaces",
          "--leader-elect",
          "--lease-namespace",
          SYSTEM_NS,
          "--lease-name",
          LEASE_NAME,
          "--lease-duration",
          String(leaseSeconds),
          "--resync",
          String(RESYNC_SECONDS),
        ],
      });
    }
    replicas = new Replicas(specs, admin, { namespace: SYSTEM_NS, name: LEASE_NAME });
    const started = Date.now();
    const deadline = started + options.minutes * 60_000;
    await replicas.startAll();
    watch = new GenerationWatch(admin);
    await watch.start();
    const fleet = new FleetWriter(admin, rng, devices);
    await fleet.writeAll();
    const initial = await waitConverged(fleet, admin, 240_000, 240_000);
    if (initial.readyMs === undefined)
      throw new Error(`the fleet never converged at the start: ${initial.problems.slice(0, 5).join("; ")}`);
    progress(`fleet of ${devices.length} devices converged in ${initial.readyMs} ms`);

    const faults: FaultRecord[] = [];
    const context = { rng, plane, admin, replicas, fleet, leaseSeconds };
    // Every kind once first (in a seeded order), so even a short run meets each; then at random.
    const firsts = rng.sample(Object.keys(FAULT_WEIGHTS) as FaultKind[], Object.keys(FAULT_WEIGHTS).length);
    while (Date.now() < deadline - FINAL_PHASE_MS) {
      const kind = firsts.shift() ?? rng.weighted(FAULT_WEIGHTS);
      const what = await inject(kind, context);
      const { agentMs, readyMs, problems, slow } = await waitConverged(fleet, admin, boundMs, readyBoundMs);
      faults.push({ kind, what, convergedMs: agentMs, readyMs });
      const outcome =
        readyMs === undefined
          ? `NOT converged (agent side ${agentMs ?? "never"} ms): ${problems.slice(0, 3).join("; ")}`
          : `converged in ${agentMs ?? "?"} ms, Ready in ${readyMs} ms`;
      progress(`${kind}: ${what} → ${outcome}${slow.length > 0 ? ` (at 15 s: ${slow.slice(0, 3).join("; ")})` : ""}`);
      await sleep(rng.int(0, 1500));
    }

    // At rest: once the cluster has settled (the last pods reported), nothing but Lease renewals
    // for longer than a resync period.
    const agents = REPLICA_NAMES.map((n) => serviceAccountUser(SYSTEM_NS, n));
    const audit = new AuditReader(plane.auditLogPath!);
    audit.read();
    const settleBy = Date.now() + 120_000;
    while (Date.now() < settleBy) {
      await sleep(10_000);
      if (writesBesidesLeases(audit.read(), agents).length === 0) break;
    }
    await sleep(Math.max((RESYNC_SECONDS + 5) * 1000, deadline - Date.now()));
    const atRest = writesBesidesLeases(audit.read(), agents);
    await replicas.stopAll();
    watch.stop();
    if (options.keepDir !== undefined) {
      mkdirSync(options.keepDir, { recursive: true });
      replicas.instances.forEach((instance, i) => {
        writeFileSync(join(options.keepDir!, `${instance.replica}.${i}.log`), `${instance.process.lines.join("\n")}\n`);
      });
      cpSync(join(plane.dir, "logs"), join(options.keepDir, "control-plane"), { recursive: true });
    }

    const entries = new AuditReader(plane.auditLogPath!).read();
    const lease = { namespace: SYSTEM_NS, name: LEASE_NAME, durationMs: leaseSeconds * 1000 };
    const secrets = [...tokens, ...devices.map((d) => d.registryPassword)];
    const violations: Violation[] = [
      ...writesOutsideTerms(entries, lease, agents).map((w) => ({
        invariant: "write outside the writer's lease term",
        detail: `${describeWrite(w.entry)} (${w.why})`,
      })),
      ...watch.violations,
      ...wrongDeletes(entries, fleet.versions, agents, 10_000),
      ...writesToInvalidDevices(entries, fleet.versions, agents, 2000),
      ...faults
        .filter((f) => f.convergedMs === undefined)
        .map((f) => ({ invariant: `no convergence within ${boundMs / 1000} s`, detail: `${f.kind}: ${f.what}` })),
      ...faults
        .filter((f) => f.convergedMs !== undefined && f.readyMs === undefined)
        .map((f) => ({ invariant: `fleet not Ready within ${readyBoundMs / 1000} s`, detail: `${f.kind}: ${f.what}` })),
      ...atRest.map((e) => ({ invariant: "write at rest besides Lease renewals", detail: describeWrite(e) })),
      ...replicas.instances.flatMap((instance, i) => [
        ...logProblems(instance.process.lines, secrets, `${instance.replica}#${i}`),
        ...(instance.exitCode !== -1 && instance.exitCode !== 0
          ? [
              {
                invariant: "agent exited with an error",
                detail: `${instance.replica}#${i}: ${String(instance.exitCode)}`,
              },
            ]
          : []),
        ...(rssTrend(instance.rss, RSS_TREND)?.growing
          ? [{ invariant: "RSS growing", detail: `${instance.replica}#${i}` }]
          : []),
      ]),
    ];
    const rss = replicas.instances.flatMap((i) => i.rss.map((s) => s.bytes));
    const leaseWrites = entries
      .filter((e) => e.resource === "leases" && e.name === LEASE_NAME && (e.code ?? 0) < 300)
      .sort((a, b) => a.time - b.time);
    return {
      seed: options.seed,
      minutes: (Date.now() - started) / 60_000,
      devices: devices.length,
      faults,
      violations,
      agentWrites: Object.fromEntries(
        agents.map((user) => [user.split(":").at(-1)!, writesBesidesLeases(entries, [user]).length]),
      ),
      leaseTakeovers: leaseWrites.filter((e, i) => i > 0 && e.user !== leaseWrites[i - 1]!.user).length,
      writesAtRest: atRest.length,
      refusedWrites: replicas.instances.reduce((sum, i) => sum + i.refusedWrites, 0),
      rssBytes: { min: Math.min(...rss), max: Math.max(...rss) },
      rssTrends: replicas.instances.flatMap((instance, i) => {
        const trend = rssTrend(instance.rss, RSS_TREND);
        const minutes = ((instance.rss.at(-1)?.at ?? 0) - (instance.rss[0]?.at ?? 0)) / 60_000;
        return trend ? [{ process: `${instance.replica}#${i}`, minutes, first: trend.first, last: trend.last }] : [];
      }),
      processes: replicas.instances.length,
    };
  } finally {
    clearInterval(tokenRefresh);
    watch?.stop();
    await replicas?.stopAll().catch(() => undefined);
    admin.close();
    await plane.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
