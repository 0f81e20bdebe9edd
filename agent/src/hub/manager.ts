import { type DeviceCredentials, parseDeviceConnectionString } from "./connectionString.ts";
import { type BridgeOptions, DeviceBridge } from "./bridge.ts";
import { DEVICE_CONNECTION_STRING_KEY, DEVICE_CREDENTIALS_SECRET } from "./credentials.ts";
import { Informer } from "../kube/informer.ts";
import type { KubeObject } from "../kube/objects.ts";
import { RESOURCES } from "../kube/resources.ts";

/** What every device bridge shares, and the namespaces to look for devices in. */
export type HubBridgesOptions = Omit<BridgeOptions, "namespace" | "credentials"> & {
  /** Namespaces to watch; `[undefined]` watches all. */
  readonly namespaces: readonly (string | undefined)[];
};

function credentialsOf(secret: KubeObject): DeviceCredentials {
  const data = (secret as { data?: Record<string, string> }).data ?? {};
  const encoded = data[DEVICE_CONNECTION_STRING_KEY];
  if (encoded === undefined)
    throw new Error(`Secret ${DEVICE_CREDENTIALS_SECRET} has no key ${DEVICE_CONNECTION_STRING_KEY}`);
  return parseDeviceConnectionString(Buffer.from(encoded, "base64").toString("utf8"));
}

/**
 * Hub mode, per namespace: where the device credentials Secret exists (the Pulumi program writes it
 * in hub mode), a DeviceBridge follows that device's twin. No Secret, no bridge: local mode.
 */
export class HubBridges {
  private readonly options: HubBridgesOptions;
  private readonly bridges = new Map<string, { bridge: DeviceBridge; credentials: string; running: Promise<void> }>();
  private readonly edgeDeployments = new Map<string, KubeObject>();
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly abort = new AbortController();

  constructor(options: HubBridgesOptions) {
    this.options = options;
    for (const namespace of options.namespaces) {
      this.informers.push(
        new Informer(
          options.kube,
          RESOURCES.Secret,
          { namespace, fieldSelector: `metadata.name=${DEVICE_CREDENTIALS_SECRET}` },
          {
            onUpsert: (s) => void this.upsertDevice(s),
            onDelete: (s) => void this.removeDevice(s.metadata?.namespace ?? ""),
          },
          options.log,
        ),
        new Informer(
          options.kube,
          RESOURCES.EdgeDeployment,
          { namespace },
          {
            onUpsert: (o) => {
              this.edgeDeploymentChanged(o, o);
            },
            onDelete: (o) => {
              this.edgeDeploymentChanged(o, undefined);
            },
          },
          options.log,
        ),
      );
    }
  }

  /** The bridge of a namespace's device, if any (for tests and status). */
  bridge(namespace: string): DeviceBridge | undefined {
    return this.bridges.get(namespace)?.bridge;
  }

  async start(): Promise<void> {
    for (const informer of this.informers) void informer.run(this.abort.signal);
    await Promise.all(this.informers.map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all([...this.bridges.keys()].map((ns) => this.removeDevice(ns)));
    await Promise.all(this.pending.values());
  }

  private edgeDeploymentChanged(object: KubeObject, current: KubeObject | undefined): void {
    const namespace = object.metadata?.namespace ?? "";
    const entry = this.bridges.get(namespace);
    if (current) this.edgeDeployments.set(namespace, current);
    else this.edgeDeployments.delete(namespace);
    if (entry && object.metadata?.name === entry.bridge.name) entry.bridge.onEdgeDeployment(current);
  }

  /** Secret events for one namespace are handled one after another. */
  private readonly pending = new Map<string, Promise<void>>();

  private serial(namespace: string, work: () => Promise<void>): Promise<void> {
    const next = (this.pending.get(namespace) ?? Promise.resolve()).then(work, work);
    this.pending.set(namespace, next);
    return next;
  }

  private upsertDevice(secret: KubeObject): Promise<void> {
    const namespace = secret.metadata?.namespace ?? "";
    return this.serial(namespace, async () => {
      const log = this.options.log.with({ namespace });
      let credentials: DeviceCredentials;
      try {
        credentials = credentialsOf(secret);
      } catch (error) {
        log.error("device credentials unusable; no hub bridge for this namespace", { error: (error as Error).message });
        await this.stopBridge(namespace);
        return;
      }
      // Kept in memory only, to notice rotated credentials.
      const fingerprint = JSON.stringify(credentials);
      if (this.bridges.get(namespace)?.credentials === fingerprint) return;
      await this.stopBridge(namespace);
      const bridge = new DeviceBridge({ ...this.options, namespace, credentials });
      const existing = this.edgeDeployments.get(namespace);
      if (existing?.metadata?.name === bridge.name) bridge.onEdgeDeployment(existing);
      this.bridges.set(namespace, { bridge, credentials: fingerprint, running: bridge.run() });
      log.info("hub bridge started", { device: credentials.deviceId, hub: credentials.hostName });
    });
  }

  private removeDevice(namespace: string): Promise<void> {
    return this.serial(namespace, () => this.stopBridge(namespace));
  }

  private async stopBridge(namespace: string): Promise<void> {
    const entry = this.bridges.get(namespace);
    if (!entry) return;
    this.bridges.delete(namespace);
    await entry.bridge.stop();
    await entry.running;
  }
}
