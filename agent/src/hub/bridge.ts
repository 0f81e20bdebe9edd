import { arch, platform } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { ModuleClient, Twin } from "azure-iot-device";
import type { DeviceCredentials } from "./connectionString.ts";
import type { HubConnector } from "./connector.ts";
import {
  BRIDGE_MANAGER,
  EDGE_AGENT_MODULE_ID,
  ensureModuleIdentity,
  identityFromSecret,
  identitySecret,
  managedModuleIds,
  removeModuleIdentity,
  type ModuleIdentity,
} from "./identities.ts";
import { type AgentInfo, type DesiredStatus, reportedProperties } from "./reported.ts";
import { type Desired, DesiredTracker, type TwinStep, diffPatch } from "./twin.ts";
import { API_VERSION, type EdgeDeploymentStatus, KIND } from "../crd/edgeDeployment.ts";
import type { KubeClient } from "../kube/client.ts";
import type { KubeObject } from "../kube/objects.ts";
import { RESOURCES } from "../kube/resources.ts";
import { desiredStatusFor, formatIssue } from "../manifest/issues.ts";
import { parseDesired } from "../manifest/parse.ts";
import { k8sName } from "../naming/k8sName.ts";
import type { Logger } from "../runtime/log.ts";
import { CERT_KEYS, DEVICE_CA_SECRET, EDGE_HUB_CERT_SECRET, identitySecretName } from "../translate/identity.ts";
import { createDeviceCa, issueEdgeHubCertificate, needsIssuing } from "./certificates.ts";
import { LABEL } from "../translate/labels.ts";

export interface BridgeOptions {
  readonly namespace: string;
  readonly credentials: DeviceCredentials;
  readonly kube: KubeClient;
  readonly connector: HubConnector;
  readonly log: Logger;
  readonly agent: AgentInfo;
  /** How often the heartbeat is reported even when nothing changed. */
  readonly heartbeatMs?: number;
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

type EdgeDeploymentObject = KubeObject & {
  spec?: { desiredVersion?: number; edgeAgent?: unknown };
  status?: EdgeDeploymentStatus;
};

export const DEFAULT_AGENT_INFO: AgentInfo = {
  version: "0.1.0",
  os: platform(),
  architecture: arch() === "x64" ? "x86_64" : arch(),
  startedUtc: new Date().toISOString(),
};

/** `$version` and `$metadata` are twin bookkeeping, not part of the deployment. */
function withoutTwinKeys(desired: Desired): Record<string, unknown> {
  return Object.fromEntries(Object.entries(desired).filter(([k]) => !k.startsWith("$")));
}

/**
 * One device's bridge to IoT Hub (DESIGN §2): follows the `$edgeAgent` twin into the EdgeDeployment
 * spec, provisions module identities and their Secrets with the device's own key, and reports status
 * back in the real agent's shape. It never deletes workloads: when the hub is unreachable the
 * EdgeDeployment keeps running what it has, and the bridge reconnects with backoff.
 */
export class DeviceBridge {
  private readonly options: BridgeOptions;
  private readonly log: Logger;
  private readonly tracker = new DesiredTracker();
  private readonly abort = new AbortController();
  private client: ModuleClient | undefined;
  private twin: Twin | undefined;
  /** Serialises everything that touches the cluster or the twin. */
  private chain: Promise<void> = Promise.resolve();
  private lastSent: Record<string, unknown> | undefined;
  private lastDesired: { version: number; status: DesiredStatus; written: boolean } | undefined;
  private edgeDeployment: EdgeDeploymentObject | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
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
  }

  get name(): string {
    return k8sName(this.options.credentials.deviceId);
  }

  /** Runs until stop(): connect, follow the twin, reconnect with backoff when the connection ends. */
  async run(): Promise<void> {
    const min = this.options.minBackoffMs ?? 1000;
    const max = this.options.maxBackoffMs ?? 60_000;
    let backoff = min;
    this.heartbeat = setInterval(() => {
      this.beat = new Date().toISOString();
      this.enqueue(() => this.report());
    }, this.options.heartbeatMs ?? 300_000);
    this.heartbeat.unref();
    while (!this.abort.signal.aborted) {
      try {
        await withTimeout(this.connect(), this.options.connectTimeoutMs ?? 30_000, "connecting to IoT Hub").catch(
          (error: unknown) => {
            this.attempts++; // the attempt still running is abandoned
            throw error;
          },
        );
        backoff = min;
        await new Promise<void>((resolve) => {
          this.disconnected = resolve;
          this.abort.signal.addEventListener("abort", () => {
            resolve();
          });
        });
      } catch (error) {
        this.log.warn("IoT Hub unreachable; workloads keep running from the EdgeDeployment", {
          error: (error as Error).message,
          retryInMs: backoff,
        });
      }
      this.connected = false;
      await this.closeClient();
      if (this.stopping()) break;
      await sleep(backoff, undefined, { signal: this.abort.signal }).catch(() => undefined);
      backoff = Math.min(backoff * 2, max);
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
    if (this.heartbeat) clearInterval(this.heartbeat);
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

  /** The `$edgeAgent` identity: kept in a Secret, so a restarted agent is the same module. */
  private async edgeAgentIdentity(): Promise<ModuleIdentity> {
    const { kube, namespace, credentials, connector } = this.options;
    const stored = identityFromSecret(
      await kube.get(RESOURCES.Secret, namespace, identitySecretName(EDGE_AGENT_MODULE_ID)),
      EDGE_AGENT_MODULE_ID,
    );
    if (stored) return stored;
    const registry = await connector.deviceRegistry(credentials);
    const identity = await ensureModuleIdentity(registry, credentials.deviceId, EDGE_AGENT_MODULE_ID);
    await kube.apply(identitySecret(namespace, credentials.hostName, credentials.deviceId, identity), BRIDGE_MANAGER);
    this.log.info("stored the $edgeAgent module identity");
    return identity;
  }

  private async connect(): Promise<void> {
    const { credentials, connector } = this.options;
    const attempt = ++this.attempts;
    const abandoned = () => attempt !== this.attempts || this.stopping();
    const identity = await this.edgeAgentIdentity();
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
      if (this.connected) this.enqueue(() => this.step({ kind: "refetch", reason: "the transport reconnected" }));
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
    this.lastSent = { ...twin.properties.reported };
    this.tracker.reset();
    this.beat = new Date().toISOString();
    // The SDK hands over its whole desired document (same object) on subscribe and on get, and
    // the patch itself for each notification.
    twin.on("properties.desired", (delivered: unknown) => {
      const whole = delivered === twin.properties.desired;
      this.enqueue(() => this.step(whole ? this.tracker.full(delivered) : this.tracker.patch(delivered)));
    });
    // Subscribed before the document is read again, so no patch can fall between the two.
    await new Promise<void>((resolve, reject) => {
      twin.enableTwinDesiredPropertiesUpdates((error) => {
        if (error) reject(error);
        else resolve();
      });
    });
    await twin.get();
    this.log.info("connected to IoT Hub as $edgeAgent");
  }

  private async step(step: TwinStep): Promise<void> {
    if (step.kind === "ignore") return;
    if (step.kind === "refetch") {
      this.log.info("fetching the whole twin", { reason: step.reason });
      const twin = this.twin;
      if (!twin) return;
      this.tracker.reset();
      // The SDK delivers the fetched document through the desired-properties listener.
      await withTimeout(twin.get(), this.operationTimeoutMs(), "fetching the twin");
      return;
    }
    await this.applyDesired(step.desired);
  }

  /** Validates the desired properties; valid ones become module identities and the EdgeDeployment spec. */
  private async applyDesired(desired: Desired): Promise<void> {
    const { kube, namespace, credentials, connector } = this.options;
    const version = desired.$version;
    const edgeAgent = withoutTwinKeys(desired);
    const parsed = parseDesired({
      edgeAgent,
      edgeHub: undefined,
      edgeAgentPath: ["$edgeAgent", "properties.desired"],
      edgeHubPath: ["$edgeHub", "properties.desired"],
      edgeHubFromTwin: true,
    });
    if (!parsed.ok) {
      // Nothing but twin bookkeeping: IoT Hub's "empty desired properties" (417), as the real agent says.
      const status =
        Object.keys(edgeAgent).length === 0
          ? { code: 417, description: "the $edgeAgent desired properties are empty" }
          : desiredStatusFor(parsed.issues);
      this.lastDesired = { version, status, written: false };
      this.log.warn("desired properties refused; the cluster keeps the last valid deployment", {
        desiredVersion: version,
        code: status.code,
        problems: parsed.issues.map(formatIssue),
      });
      await this.report();
      return;
    }
    await this.ensureCertificates();
    const registry = await connector.deviceRegistry(credentials);
    const wanted = parsed.manifest.modules.map((m) => m.id);
    for (const moduleId of wanted) {
      const identity = await ensureModuleIdentity(registry, credentials.deviceId, moduleId);
      await kube.apply(identitySecret(namespace, credentials.hostName, credentials.deviceId, identity), BRIDGE_MANAGER);
    }
    const edgeDeployment = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name: this.name,
        namespace,
        labels: { [LABEL.device]: k8sName(credentials.deviceId) },
      },
      spec: { deviceId: credentials.deviceId, hubHostName: credentials.hostName, desiredVersion: version, edgeAgent },
    };
    this.edgeDeployment = await kube.apply<EdgeDeploymentObject>(edgeDeployment, BRIDGE_MANAGER);
    this.lastDesired = { version, status: { code: 200, description: "" }, written: true };
    this.log.info("desired properties applied to the EdgeDeployment", {
      desiredVersion: version,
      modules: wanted.length,
    });
    for (const moduleId of await managedModuleIds(registry, credentials.deviceId)) {
      if (wanted.includes(moduleId)) continue;
      await removeModuleIdentity(registry, credentials.deviceId, moduleId);
      await kube.delete(RESOURCES.Secret, namespace, identitySecretName(moduleId));
      this.log.info("removed the identity of a module no longer deployed", { module: moduleId });
    }
    await this.report();
  }

  /** The device CA (made once, kept in a Secret) and edgeHub's server certificate, issued again before it expires. */
  private async ensureCertificates(now = new Date()): Promise<void> {
    const { kube, namespace, credentials } = this.options;
    const read = async (name: string) => {
      const secret = await kube.get(RESOURCES.Secret, namespace, name);
      const data = (secret as { data?: Record<string, string> } | undefined)?.data ?? {};
      return (key: string) => (data[key] !== undefined ? Buffer.from(data[key], "base64").toString("utf8") : undefined);
    };
    const secret = (name: string, stringData: Record<string, string>) => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name,
        namespace,
        labels: { [LABEL.managedBy]: BRIDGE_MANAGER, [LABEL.device]: k8sName(credentials.deviceId) },
      },
      type: "Opaque",
      stringData,
    });
    const caData = await read(DEVICE_CA_SECRET);
    let ca = { certPem: caData(CERT_KEYS.caCert) ?? "", keyPem: caData(CERT_KEYS.caKey) ?? "" };
    if (ca.certPem === "" || ca.keyPem === "" || needsIssuing(ca.certPem, ca.certPem, now)) {
      ca = createDeviceCa(credentials.deviceId, now);
      await kube.apply(
        secret(DEVICE_CA_SECRET, { [CERT_KEYS.caCert]: ca.certPem, [CERT_KEYS.caKey]: ca.keyPem }),
        BRIDGE_MANAGER,
      );
      this.log.info("made the device CA");
    }
    const server = await read(EDGE_HUB_CERT_SECRET);
    if (needsIssuing(server(CERT_KEYS.cert), ca.certPem, now)) {
      const issued = issueEdgeHubCertificate(ca, namespace, now);
      await kube.apply(
        secret(EDGE_HUB_CERT_SECRET, {
          [CERT_KEYS.cert]: issued.certPem,
          [CERT_KEYS.key]: issued.keyPem,
          [CERT_KEYS.caCert]: ca.certPem,
        }),
        BRIDGE_MANAGER,
      );
      this.log.info("issued edgeHub's server certificate");
    }
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
    const previous = this.lastSent;
    const next = reportedProperties({
      agent: this.options.agent,
      lastDesiredVersion: outcome.version ?? (previous?.["lastDesiredVersion"] as number | undefined),
      lastDesiredStatus: outcome.status ?? (previous?.["lastDesiredStatus"] as DesiredStatus | undefined),
      desired: this.edgeDeployment?.spec?.edgeAgent,
      status: this.edgeDeployment?.status,
      heartbeatUtc: this.beat,
    });
    // Reported properties are sent as diffs; a removed module becomes null.
    const patch = diffPatch(withoutVersion(previous) ?? {}, next);
    if (Object.keys(patch).length === 0) return;
    const sent = new Promise<void>((resolve, reject) => {
      const reported = twin.properties.reported as unknown as {
        update(patch: object, done: (error?: Error) => void): void;
      };
      reported.update(patch, (error?: Error) => {
        if (error) reject(error);
        else resolve();
      });
    });
    await withTimeout(sent, this.operationTimeoutMs(), "reporting to IoT Hub");
    this.lastSent = next;
  }
}

function withoutVersion(doc: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!doc) return undefined;
  return Object.fromEntries(Object.entries(doc).filter(([k]) => !k.startsWith("$") && k !== "update"));
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} took longer than ${String(ms / 1000)} s`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
