import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { translationDefaultsFrom, translationFlagHelp, translationFlagOptions } from "./translationFlags.ts";
import { UsageError, parseCommandArgs, positiveInt } from "./usage.ts";
import type { Io } from "./validate.ts";
import { KubeClient } from "../kube/client.ts";
import { type ClusterConfig, loadClusterConfig } from "../kube/config.ts";
import type { Transport } from "../hub/connector.ts";
import { Controller } from "../reconcile/controller.ts";
import { ReleaseEngine } from "../releases/releaseEngine.ts";
import { parseDuration } from "../rollout/plan.ts";
import { LeaderElector, electionTimings } from "../runtime/leader.ts";
import { type Level, jsonLogger } from "../runtime/log.ts";
import { Metrics } from "../runtime/metrics.ts";
import { startOpsServer } from "../runtime/server.ts";

export const agentHelp = `Usage: edgek8s agent [options]

Runs the Edge Agent: watches EdgeDeployments and keeps each device's modules running as
Deployments, Services, claims, ServiceAccounts and pull Secrets, writing status back.

Options:
  --kubeconfig PATH        kubeconfig to use (default: in-cluster config, else $KUBECONFIG or ~/.kube/config)
  -n, --namespace NS       watch this namespace; repeat or comma-separate for several
  -A, --all-namespaces     watch every namespace (one agent per cluster)
  --listen HOST:PORT       /healthz, /readyz and /metrics (default 0.0.0.0:8080)
  --workers N              EdgeDeployments reconciled at once (default 4)
  --resync SECONDS         reconcile everything this often even without events (default 300)
  --leader-elect           run as one of several replicas; only the Lease holder works
  --lease-namespace NS     namespace of the Lease (default: the first watched namespace, else "default")
  --lease-name NAME        (default edgek8s-agent)
  --lease-duration SECONDS a lease not renewed for this long may be taken over (default 15)
  --renew-deadline SECONDS a leader that could not renew for this long stops writing and stands
                           by (default two thirds of the lease duration)
  --identity NAME          this replica's name in the Lease (default: $POD_NAME, else the host
                           name and a random suffix)
  --shutdown-timeout SECONDS  time to finish passes in flight on SIGTERM (default 20)
  --log-level LEVEL        debug, info (default), warn, error
  --hub-bridge             hub mode: in each namespace holding the device credentials Secret
                           (edgek8s-device-credentials), follow that device's $edgeAgent twin in
                           IoT Hub, provision its module identities and report status back
  --hub-transport T        mqtt (default, port 8883) or mqtt-ws (WebSockets, port 443)
  --heartbeat SECONDS      heartbeat in the reported properties, or (local stacks) in each
                           EdgeDeployment status (default 300)
  --twin-refresh SECONDS   fetch the whole $edgeAgent twin this often even unprompted (default 3600)
  --release-engine         local stacks (with --all-namespaces, not with --hub-bridge): do IoT Hub's
                           deployment job in the cluster — evaluate each EdgeRelease's target
                           condition against the device namespaces' tags (edgek8s.io/tags), write
                           each targeted device's EdgeDeployment and each release's status
  --release-eval-interval DURATION  evaluate releases only this often, as IoT Hub does (e.g. 5m);
                           default 0: soon after every change
${translationFlagHelp}
  -h, --help               show this help

With --leader-elect, a replica that loses the lease or the API server stands by (not ready, not
leader, still running) and competes again; only the lease holder writes.

Logs are JSON lines on stderr. Exit codes: 0 after a clean shutdown, 1 on a fatal error, 2 usage error.`;

function listen(value: string | boolean | undefined): { host: string; port: number } {
  const text = typeof value === "string" ? value : "0.0.0.0:8080";
  const match = /^(.*):(\d+)$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) throw new UsageError(`--listen must be HOST:PORT, got "${text}"`);
  return { host: match[1] || "0.0.0.0", port };
}

/** `0`, `90` (seconds), or a duration of the rollout plan (`30s`, `5m`, `1h30m`), in milliseconds; 0 when absent. */
export function durationMs(value: string | boolean | undefined, flag: string): number {
  if (value === undefined) return 0;
  const ms = typeof value !== "string" ? undefined : /^\d+$/.test(value) ? Number(value) * 1000 : parseDuration(value);
  if (ms === undefined)
    throw new UsageError(`--${flag} must be a duration such as 0, 30s, 5m or 1h, got "${String(value)}"`);
  return ms;
}

function loadConfig(path: string | undefined): ClusterConfig {
  if (path !== undefined && !existsSync(path)) throw new UsageError(`--kubeconfig ${path}: no such file`);
  try {
    return loadClusterConfig(path);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export async function agentCommand(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseCommandArgs(args, {
    kubeconfig: { type: "string" },
    namespace: { type: "string", short: "n", multiple: true },
    "all-namespaces": { type: "boolean", short: "A" },
    listen: { type: "string" },
    workers: { type: "string" },
    resync: { type: "string" },
    "leader-elect": { type: "boolean" },
    "lease-namespace": { type: "string" },
    "lease-name": { type: "string" },
    "lease-duration": { type: "string" },
    "renew-deadline": { type: "string" },
    identity: { type: "string" },
    "shutdown-timeout": { type: "string" },
    "log-level": { type: "string" },
    "hub-bridge": { type: "boolean" },
    "hub-transport": { type: "string" },
    heartbeat: { type: "string" },
    "twin-refresh": { type: "string" },
    "release-engine": { type: "boolean" },
    "release-eval-interval": { type: "string" },
    ...translationFlagOptions,
  });
  if (values.help) {
    io.out(agentHelp);
    return 0;
  }
  const namespaces = (values.namespace ?? [])
    .flatMap((n) => n.split(","))
    .map((n) => n.trim())
    .filter((n) => n !== "");
  if (values["all-namespaces"] && namespaces.length > 0)
    throw new UsageError("--all-namespaces and --namespace exclude each other");
  if (!values["all-namespaces"] && namespaces.length === 0)
    throw new UsageError("say which namespaces to watch: --namespace NS (repeatable) or --all-namespaces");
  const level = (values["log-level"] ?? "info") as Level;
  if (!["debug", "info", "warn", "error"].includes(level))
    throw new UsageError(`--log-level must be debug, info, warn or error, got "${level}"`);
  const ops = listen(values.listen);
  const workers = positiveInt(values.workers, "workers") ?? 4;
  const resyncMs = (positiveInt(values.resync, "resync") ?? 300) * 1000;
  const leaseDuration = positiveInt(values["lease-duration"], "lease-duration") ?? 15;
  const renewDeadline = positiveInt(values["renew-deadline"], "renew-deadline");
  let timings: ReturnType<typeof electionTimings>;
  try {
    timings = electionTimings(leaseDuration, renewDeadline);
  } catch (error) {
    throw new UsageError(`--renew-deadline: ${(error as Error).message}`);
  }
  const shutdownMs = (positiveInt(values["shutdown-timeout"], "shutdown-timeout") ?? 20) * 1000;
  const defaults = translationDefaultsFrom(values);
  const transportFlag = values["hub-transport"] ?? "mqtt";
  if (transportFlag !== "mqtt" && transportFlag !== "mqtt-ws")
    throw new UsageError(`--hub-transport must be mqtt or mqtt-ws, got "${transportFlag}"`);
  const transport: Transport = transportFlag;
  const heartbeatMs = (positiveInt(values.heartbeat, "heartbeat") ?? 300) * 1000;
  const twinRefreshMs = (positiveInt(values["twin-refresh"], "twin-refresh") ?? 3600) * 1000;
  const releaseEngine = values["release-engine"] === true;
  if (releaseEngine && !values["all-namespaces"])
    throw new UsageError("--release-engine needs --all-namespaces: releases target devices across the cluster");
  if (releaseEngine && values["hub-bridge"])
    throw new UsageError("--release-engine is for local stacks; with --hub-bridge IoT Hub evaluates the releases");
  if (!releaseEngine && values["release-eval-interval"] !== undefined)
    throw new UsageError("--release-eval-interval needs --release-engine");
  const evalIntervalMs = durationMs(values["release-eval-interval"], "release-eval-interval");
  const clusterConfig = loadConfig(values.kubeconfig);
  const identity = values.identity ?? defaultIdentity(process.env);

  const log = jsonLogger(
    (line) => {
      io.err(line);
    },
    level,
    { component: "edgek8s-agent", identity },
  );
  const client = new KubeClient(clusterConfig);
  const metrics = new Metrics();
  const namespacesWatched = values["all-namespaces"] ? [undefined] : namespaces;
  const elector = values["leader-elect"]
    ? new LeaderElector(
        client,
        {
          namespace: values["lease-namespace"] ?? namespaces[0] ?? "default",
          name: values["lease-name"] ?? "edgek8s-agent",
          identity,
          ...timings,
        },
        log,
      )
    : undefined;
  // Every write the reconciler, the hub bridge and the release engine make goes through the fence:
  // only the lease holder writes.
  const writer = elector ? client.with({ fence: elector }) : client;
  const controller = new Controller(
    writer,
    {
      namespaces: namespacesWatched,
      workers,
      resyncMs,
      defaults,
      instance: identity,
      localReleases: releaseEngine,
      // Local stacks have no IoT Hub to report a heartbeat to: it goes into the EdgeDeployment status.
      ...(values["hub-bridge"] ? {} : { heartbeatMs }),
    },
    log,
    metrics,
  );
  // Loaded only in hub mode: the IoT Hub SDKs and certificate code cost memory a local agent does not need.
  const hubBridges = values["hub-bridge"]
    ? await (async () => {
        const [{ HubBridges }, { DEFAULT_AGENT_INFO }, { sdkConnector }] = await Promise.all([
          import("../hub/manager.ts"),
          import("../hub/bridge.ts"),
          import("../hub/connector.ts"),
        ]);
        const connector = sdkConnector({ transport });
        return () =>
          new HubBridges({
            kube: writer,
            namespaces: namespacesWatched,
            connector,
            log,
            agent: DEFAULT_AGENT_INFO,
            heartbeatMs,
            twinRefreshMs,
          });
      })()
    : undefined;
  // One engine per term: a stopped engine does not start again.
  const releaseEngines = releaseEngine ? () => new ReleaseEngine(writer, log, { evalIntervalMs, resyncMs }) : undefined;
  let engine: ReleaseEngine | undefined;
  const server = await startOpsServer(ops.host, ops.port, {
    healthy: () => true,
    // A standby replica (no lease, or no API server) is not ready: only the one that works is.
    ready: () =>
      (!elector || elector.isLeader) && controller.ready && (releaseEngines === undefined || engine?.ready === true),
    metrics: () => {
      metrics.leader.set({}, elector ? (elector.isLeader ? 1 : 0) : 1);
      if (elector) metrics.refusedWrites.set({}, elector.refusedWrites);
      return controller.renderMetrics();
    },
  });
  log.info("agent starting", {
    listen: `${ops.host}:${ops.port}`,
    namespaces: values["all-namespaces"] ? ["*"] : namespaces,
    leaderElection: elector !== undefined,
    hubBridge: hubBridges !== undefined,
    releaseEngine,
  });
  let announced = false;
  /** Logs `ready` the first time this replica works, with the time since the process started. */
  function announceReady(): void {
    if (announced) return;
    announced = true;
    log.info("ready", { startupMs: Math.round(process.uptime() * 1000) });
  }

  const shutdown = new AbortController();
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      if (shutdown.signal.aborted) return;
      log.info("shutting down", { signal, timeoutMs: shutdownMs });
      shutdown.abort();
      resolve();
    };
    process.once("SIGTERM", () => {
      stop("SIGTERM");
    });
    process.once("SIGINT", () => {
      stop("SIGINT");
    });
  });

  /** One term of work: the controller and, in hub mode, the bridges, or the release engine, until the term ends. */
  async function work(term: AbortSignal): Promise<void> {
    const bridges = hubBridges?.();
    const termEngine = releaseEngines?.();
    engine = termEngine;
    // Not awaited: with the API server away their caches never sync, and stop() ends them anyway.
    void bridges?.start().catch((error: unknown) => {
      log.error("hub bridges failed to start", { error: (error as Error).message });
    });
    void Promise.all([controller.startCache(), termEngine?.start()]).then(
      () => {
        if (!term.aborted) announceReady();
      },
      (error: unknown) => {
        log.error("release engine failed to start", { error: (error as Error).message });
      },
    );
    await controller.lead(term);
    await bridges?.stop();
    await termEngine?.stop();
  }

  // The campaign never ends because of the API server: a lost lease means standing by and competing again.
  const election = new AbortController();
  const campaign = (async () => {
    if (!elector) {
      await controller.start();
      const bridges = hubBridges?.();
      engine = releaseEngines?.();
      await bridges?.start();
      await engine?.start();
      announceReady();
      await stopped;
      await bridges?.stop();
      await engine?.stop();
      return;
    }
    void controller.startCache();
    for (;;) {
      const term = await elector.acquire(election.signal);
      if (!term) return;
      await work(term);
      // Work also ends at shutdown, while the term lasts until the election stops: never run two terms.
      await new Promise<void>((resolve) => {
        if (term.aborted) resolve();
        else
          term.addEventListener("abort", () => {
            resolve();
          });
      });
    }
  })();
  await stopped;
  await controller.stop(shutdownMs);
  election.abort();
  await campaign;
  await elector?.release();
  server.close();
  client.close();
  log.info("stopped", { exitCode: 0 });
  return 0;
}

/** This replica's name in the Lease: the pod's name when the chart sets POD_NAME, else unique on this host. */
export function defaultIdentity(
  env: NodeJS.ProcessEnv,
  host = hostname(),
  suffix = randomBytes(3).toString("hex"),
): string {
  const pod = env["POD_NAME"]?.trim();
  return pod ? pod : `${host}-${suffix}`;
}
