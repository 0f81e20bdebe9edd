import { arch, platform } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { ModuleClient, Twin } from "azure-iot-device";
import type { Registry } from "azure-iothub";
import type { DeviceCredentials } from "./connectionString.ts";
import type { HubConnector } from "./connector.ts";
import { type EdgeDeploymentObject, deployDesired } from "./deploy.ts";
import { edgeAgentIdentity, renewEdgeAgentIdentity } from "./edgeAgentIdentity.ts";
import { EDGE_AGENT_MODULE_ID } from "./identities.ts";
import { type IdentityStore, secretStore } from "./identityStore.ts";
import { type AgentInfo, type DesiredStatus, fitReported, reportedProperties } from "./reported.ts";
import { ReportedSender, sdkReportedUpdate } from "./reporter.ts";
import { Backoff, isTransient, isUnauthorized, statusOf, withTimeout } from "./retry.ts";
import { type Desired, DesiredTracker, type TwinStep } from "./twin.ts";
import type { KubeClient } from "../kube/client.ts";
import { k8sName } from "../naming/k8sName.ts";
import type { Logger } from "../runtime/log.ts";

export interface BridgeOptions {
  readonly namespace: string;
  readonly credentials: DeviceCredentials;
  readonly kube: KubeClient;
  readonly connector: HubConnector;
  readonly log: Logger;
  readonly agent: AgentInfo;
  /** How often the heartbeat is reported even when nothing changed. */
  readonly heartbeatMs?: number;
  /** How often the whole twin is fetched without being told (IoT Edge's agent: hourly, its default here). */
  readonly twinRefreshMs?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A connection attempt (open, subscribe, fetch the twin) that takes longer is abandoned and retried. */
  readonly connectTimeoutMs?: number;
  /**
   * A twin operation (report, fetch, close) that takes longer is abandoned: a connection that dies
   * mid-request may never answer, and the bridge's steps run one after another.
   */
  readonly operationTimeoutMs?: number;
}

export const DEFAULT_AGENT_INFO: AgentInfo = {
  version: "0.1.0",
  os: platform(),
  architecture: arch() === "x64" ? "x86_64" : arch(),
  startedUtc: new Date().toISOString(),
};

/** IoT Edge's agent refreshes the whole twin hourly (edge-agent `EdgeAgentConnection.cs`, DefaultConfigRefreshFrequency). */
export const TWIN_REFRESH_MS = 3_600_000;

/**
 * One device's bridge to IoT Hub (DESIGN §2): follows the `$edgeAgent` twin into the EdgeDeployment
 * spec, provisions module identities and their Secrets with the device's own key, and reports status
 * back in the real agent's shape. It never deletes workloads: when the hub is unreachable the
 * EdgeDeployment keeps running what it has, and the bridge reconnects with backoff. A desired version
 * that cannot be applied for now (a throttled or unreachable registry) is retried with backoff until
 * it is applied or a newer one arrives.
 */
export class DeviceBridge {
  private readonly options: BridgeOptions;
  private readonly log: Logger;
  private readonly tracker = new DesiredTracker();
  private readonly reporter: ReportedSender;
  private readonly store: IdentityStore;
  private readonly abort = new AbortController();
  private readonly applyBackoff: Backoff;
  private client: ModuleClient | undefined;
  private twin: Twin | undefined;
  /** Serialises everything that touches the cluster or the twin. */
  private chain: Promise<void> = Promise.resolve();
  private lastDesired: { version: number; status: DesiredStatus; written: boolean } | undefined;
  private edgeDeployment: EdgeDeploymentObject | undefined;
  private timers: NodeJS.Timeout[] = [];
  private retry: NodeJS.Timeout | undefined;
  private refetchQueued = false;
  /** The heartbeat reported: moved on by the heartbeat timer only, so other reports stay minimal. */
  private beat = new Date().toISOString();
  private disconnected: (() => void) | undefined;
  /** Whether a twin connection is open now (for tests and /metrics). */
  connected = false;
  /** Connection attempts so far; an attempt that timed out must not take over when it finishes late. */
  private attempts = 0;

  constructor(options: BridgeOptions) {
    this.options = options;
    this.log = options.log.with({ namespace: options.namespace, device: options.credentials.deviceId });
    this.reporter = new ReportedSender(this.log);
    this.store = secretStore(options.kube, options.namespace, options.credentials);
    this.applyBackoff = new Backoff(options.minBackoffMs ?? 1000, options.maxBackoffMs ?? 60_000);
  }

  get name(): string {
    return k8sName(this.options.credentials.deviceId);
  }

  private registry = (): Promise<Registry> => this.options.connector.deviceRegistry(this.options.credentials);

  /** Runs until stop(): connect, follow the twin, reconnect with backoff when the connection ends. */
  async run(): Promise<void> {
    const backoff = new Backoff(this.options.minBackoffMs ?? 1000, this.options.maxBackoffMs ?? 60_000);
    const every = (ms: number, work: () => void) => {
      const timer = setInterval(work, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.heartbeatMs ?? 300_000, () => {
      this.beat = new Date().toISOString();
      this.enqueue(() => this.report());
    });
    every(this.options.twinRefreshMs ?? TWIN_REFRESH_MS, () => {
      if (this.connected) this.queueRefetch("periodic refresh of the whole twin");
    });
    while (!this.abort.signal.aborted) {
      try {
        await withTimeout(this.connect(), this.options.connectTimeoutMs ?? 30_000, "connecting to IoT Hub").catch(
          (error: unknown) => {
            this.attempts++; // the attempt still running is abandoned
            throw error;
          },
        );
        backoff.reset();
        await new Promise<void>((resolve) => {
          this.disconnected = resolve;
          this.abort.signal.addEventListener("abort", () => {
            resolve();
          });
        });
      } catch (error) {
        if (isUnauthorized(error) && !this.stopping()) await this.renewIdentity(error);
        else
          this.log.warn("IoT Hub unreachable; workloads keep running from the EdgeDeployment", {
            error: (error as Error).message,
          });
      }
      this.connected = false;
      await this.closeClient();
      if (this.stopping()) break;
      await sleep(backoff.next(), undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }

  private operationTimeoutMs(): number {
    return this.options.operationTimeoutMs ?? 15_000;
  }

  private stopping(): boolean {
    return this.abort.signal.aborted;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.retry);
    await this.chain;
    await this.closeClient();
  }

  /** The EdgeDeployment changed (status written by the reconciler): report if that changes anything. */
  onEdgeDeployment(object: EdgeDeploymentObject | undefined): void {
    this.edgeDeployment = object;
    this.enqueue(() => this.report());
  }

  private enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((error: unknown) => {
      this.log.warn("hub bridge step failed", { error: (error as Error).message });
    });
  }

  private async closeClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.twin = undefined;
    if (client) {
      client.removeAllListeners();
      // Swallow late errors from a transport being torn down.
      client.on("error", () => undefined);
      await withTimeout(client.close(), this.operationTimeoutMs(), "closing the IoT Hub connection").catch(
        () => undefined,
      );
    }
  }

  /** IoT Hub refused the stored `$edgeAgent` key: read the identity again (a re-created device has new keys). */
  private async renewIdentity(refusal: unknown): Promise<void> {
    try {
      const renewed = await renewEdgeAgentIdentity(this.store, this.options.credentials, this.registry);
      if (renewed) this.log.info("IoT Hub refused the stored $edgeAgent key; stored the identity it holds now");
      else
        this.log.error("IoT Hub refuses $edgeAgent although its stored key is current; is the device disabled?", {
          error: (refusal as Error).message,
        });
    } catch (error) {
      this.log.error("IoT Hub refused $edgeAgent, and its identity could not be read again with the device key", {
        error: (error as Error).message,
        status: statusOf(error),
      });
    }
  }

  private async connect(): Promise<void> {
    const { credentials, connector } = this.options;
    const attempt = ++this.attempts;
    const abandoned = () => attempt !== this.attempts || this.stopping();
    const { identity, provisioned } = await edgeAgentIdentity(this.store, credentials, this.registry);
    if (provisioned) this.log.info("stored the $edgeAgent module identity");
    if (abandoned()) return;
    const client = await connector.moduleClient(
      `HostName=${credentials.hostName};DeviceId=${credentials.deviceId};ModuleId=${EDGE_AGENT_MODULE_ID};SharedAccessKey=${identity.key}`,
    );
    this.client = client;
    const lost = (why: string) => () => {
      if (!this.connected) return;
      this.connected = false;
      this.log.warn("IoT Hub connection lost", { reason: why });
      this.disconnected?.();
    };
    client.on("disconnect", lost("disconnect"));
    client.on("error", lost("error"));
    // Should the transport reconnect on its own after all, the whole twin is fetched again.
    client.on("connect", () => {
      if (this.connected) this.queueRefetch("the transport reconnected");
    });
    await client.open();
    const twin = await client.getTwin();
    if (abandoned()) {
      await client.close().catch(() => undefined);
      return;
    }
    this.twin = twin;
    this.connected = true;
    // After a (re)connect the hub's reported state is the base for diffs, and desired starts whole.
    this.reporter.reset(twin.properties.reported);
    this.tracker.reset();
    this.beat = new Date().toISOString();
    // The SDK hands over its whole desired document (same object) on get, and each notification as
    // it came. Copied now: the SDK merges later notifications into its document.
    twin.on("properties.desired", (delivered: unknown) => {
      const whole = delivered === twin.properties.desired;
      const copy = structuredClone(delivered);
      if (whole) this.enqueue(() => this.step(this.tracker.full(copy)));
      else this.step(this.tracker.notified(copy)).catch(() => undefined);
    });
    // Subscribed before the document is read again, so no notification can fall between the two.
    await new Promise<void>((resolve, reject) => {
      twin.enableTwinDesiredPropertiesUpdates((error) => {
        if (error) reject(error);
        else resolve();
      });
    });
    await twin.get();
    this.log.info("connected to IoT Hub as $edgeAgent");
  }

  private queueRefetch(reason: string): void {
    if (this.refetchQueued) return;
    this.refetchQueued = true;
    this.enqueue(async () => {
      this.refetchQueued = false;
      const twin = this.twin;
      if (!twin || !this.connected) return;
      this.log.info("fetching the whole twin", { reason });
      // The SDK delivers the fetched document through the desired-properties listener.
      await withTimeout(twin.get(), this.operationTimeoutMs(), "fetching the twin");
    });
  }

  private async step(step: TwinStep): Promise<void> {
    if (step.kind === "ignore") return;
    if (step.kind === "refetch") this.queueRefetch(step.reason);
    else await this.applyDesired(step.desired);
  }

  /** Applies a desired version; when IoT Hub or the API server fails, tries again with backoff. */
  private async applyDesired(desired: Desired): Promise<void> {
    const version = desired.$version;
    clearTimeout(this.retry);
    const ctx = { ...this.options, store: this.store, registry: this.registry, log: this.log };
    let outcome: Awaited<ReturnType<typeof deployDesired>>;
    try {
      outcome = await deployDesired(ctx, desired);
    } catch (error) {
      const retryInMs = this.applyBackoff.next();
      const permanent = !isTransient(error);
      this.log.warn("could not apply the desired properties; trying again", {
        desiredVersion: version,
        retryInMs,
        error: (error as Error).message,
        status: statusOf(error),
      });
      if (permanent && this.lastDesired?.version !== version) {
        // IoT Hub refused a call outright: say so (500, as IoT Edge's agent does) while retrying.
        this.lastDesired = { version, status: { code: 500, description: (error as Error).message }, written: false };
        this.enqueue(() => this.report());
      }
      this.retry = setTimeout(() => {
        this.enqueue(() => this.retryApply(version));
      }, retryInMs);
      this.retry.unref();
      return;
    }
    this.applyBackoff.reset();
    if (outcome.kind === "refused") {
      this.lastDesired = { version, status: outcome.status, written: false };
      this.log.warn("desired properties refused; the cluster keeps the last valid deployment", {
        desiredVersion: version,
        code: outcome.status.code,
        problems: outcome.problems,
      });
    } else {
      this.edgeDeployment = outcome.edgeDeployment;
      this.lastDesired = { version, status: { code: 200, description: "" }, written: true };
      this.log.info("desired properties applied to the EdgeDeployment", {
        desiredVersion: version,
        identitiesStored: outcome.identities.stored.length,
        identitiesRemoved: outcome.identities.removed.length,
      });
    }
    await this.report();
  }

  private async retryApply(version: number): Promise<void> {
    const current = this.tracker.desired;
    if (current?.$version !== version || this.stopping()) return; // a newer version took over
    await this.applyDesired(current);
  }

  /** What IoT Hub should see now: a spec it wrote counts once the reconciler has acted on it. */
  private desiredOutcome(): { version: number | undefined; status: DesiredStatus | undefined } {
    const last = this.lastDesired;
    if (!last) return { version: undefined, status: undefined };
    if (!last.written) return { version: last.version, status: last.status };
    const status = this.edgeDeployment?.status;
    const observed =
      status?.desiredVersion === last.version &&
      status.observedGeneration === this.edgeDeployment?.metadata?.generation;
    if (!observed) return { version: undefined, status: undefined };
    return { version: last.version, status: status.lastDesiredStatus ?? last.status };
  }

  private async report(): Promise<void> {
    const twin = this.twin;
    if (!twin || !this.connected) return;
    const outcome = this.desiredOutcome();
    const previous = this.reporter.last;
    const next = fitReported(
      reportedProperties({
        agent: this.options.agent,
        lastDesiredVersion: outcome.version ?? (previous?.["lastDesiredVersion"] as number | undefined),
        lastDesiredStatus: outcome.status ?? (previous?.["lastDesiredStatus"] as DesiredStatus | undefined),
        desired: this.edgeDeployment?.spec?.edgeAgent,
        status: this.edgeDeployment?.status,
        heartbeatUtc: this.beat,
      }),
    );
    await this.reporter.send(next, sdkReportedUpdate(twin, this.operationTimeoutMs()));
  }
}
