// A local stack for the rollout's end-to-end scenarios: a full control plane with kwok nodes, one
// agent (controller) per device so a device's agent can be stopped on its own, the release engine,
// EdgeReleases written as the Pulumi program writes them, and a real Pulumi stack (file backend)
// whose config the `edgek8s rollout` command reads through the Automation API.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { type Cluster, RELEASE_CRD_FILE, createNamespace, startCluster, startController, waitFor } from "./harness.ts";
import { pulumiEnv } from "../../../scripts/local/pulumi.ts";
import { toolPath } from "../../../scripts/cluster/tools.ts";
import type { EdgeDeploymentStatus } from "../../src/crd/edgeDeployment.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { RESOURCES } from "../../src/kube/resources.ts";
import type { Controller } from "../../src/reconcile/controller.ts";
import { TAGS_ANNOTATION } from "../../src/releases/observed.ts";
import { ReleaseEngine } from "../../src/releases/releaseEngine.ts";
import { silentLogger } from "../../src/runtime/log.ts";
import { manifest, userModule } from "../fixtures/manifests.ts";

export const HUB = "local-hub.azure-devices.net";
export const TRACK_TARGET = "tags.site = 'west'";
export const ns = (deviceId: string) => `msiot-local-hub-${deviceId}`;
const ENTRY = fileURLToPath(new URL("../../src/cli/entry.ts", import.meta.url));

export type DeviceObject = KubeObject & {
  spec?: { desiredVersion?: number; edgeAgent?: { modules?: Record<string, { settings?: { image?: string } }> } };
  status?: EdgeDeploymentStatus & { heartbeat?: string };
};
export type ReleaseObject = KubeObject & {
  spec?: { targetCondition?: string; labels?: Record<string, string> };
};

/** The sensor module's image in a release's content. */
export const content = (image: string) => manifest({ modules: { sensor: userModule(image) } }).modulesContent;

/** An EdgeRelease as the Pulumi program writes it (its field manager, static labels, content). */
export function edgeRelease(name: string, priority: number, image: string, target: string, state: string): KubeObject {
  return {
    apiVersion: "edgek8s.io/v1",
    kind: "EdgeRelease",
    metadata: { name },
    spec: {
      track: "factory",
      layer: false,
      priority,
      targetCondition: target,
      modulesContent: content(image),
      labels: {
        "edgek8s.managed": "true",
        "edgek8s.stack": "edgek8s.local",
        "edgek8s.track": "factory",
        "edgek8s.state": state,
      },
    },
  };
}

/**
 * The lease of a driver that stopped without releasing it: long enough that a second driver started
 * right after a kill still finds it held on a loaded machine (starting a driver — Node, the Automation
 * API, the first list — takes seconds there), short enough for the test to wait it out.
 */
export const LEASE_SECONDS = 15;

/** The stack config the command reads: a local hub, one track, two rings with short gates. */
export function stackConfig(kubeconfig: string): Record<string, unknown> {
  return {
    "edgek8s:hub": { mode: "none", hostName: HUB },
    "edgek8s:clusters": { local: { kubeconfig } },
    "edgek8s:tracks": { factory: { manifest: "deployments/quickstart.json", target: TRACK_TARGET } },
    "edgek8s:rollout": {
      rings: [
        { name: "canary", select: "tags.ring = 'canary'", bake: "12s", maxFailures: 0 },
        { name: "all", percent: 100, bake: "1s" },
      ],
      gates: {
        applyTimeout: "60s",
        reportTimeout: "60s",
        readyGrace: "1s",
        minExecuted: 1,
        staleAfter: "4s",
        maxUnreachablePercent: 50,
      },
      pollInterval: "250ms",
      lease: `${String(LEASE_SECONDS)}s`,
    },
  };
}

export class Fleet {
  readonly controllers = new Map<string, Controller>();
  private engine: ReleaseEngine | undefined;
  project = "";
  private state = "";

  readonly cluster: Cluster;

  constructor(cluster: Cluster) {
    this.cluster = cluster;
  }

  static async start(tags: Readonly<Record<string, Record<string, unknown>>>): Promise<Fleet> {
    const cluster = await startCluster({ full: true, nodes: 1, crdFiles: [RELEASE_CRD_FILE] });
    const fleet = new Fleet(cluster);
    for (const [id, deviceTags] of Object.entries(tags)) {
      await createNamespace(cluster, ns(id));
      await cluster.admin.apply(
        {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: ns(id), annotations: { [TAGS_ANNOTATION]: JSON.stringify(deviceTags) } },
        },
        "pulumi-kubernetes",
      );
      // A device in a track: Pulumi writes its EdgeDeployment without content (the engine fills it).
      await cluster.admin.apply(
        {
          apiVersion: "edgek8s.io/v1",
          kind: "EdgeDeployment",
          metadata: { name: id, namespace: ns(id) },
          spec: { deviceId: id, hubHostName: HUB },
        },
        "pulumi-kubernetes",
      );
      await fleet.startAgent(id);
    }
    fleet.engine = new ReleaseEngine(cluster.admin, silentLogger, { debounceMs: 50 });
    await fleet.engine.start();
    fleet.createStack();
    return fleet;
  }

  /** The device's agent: a controller for its namespace, heartbeat every second. */
  async startAgent(id: string): Promise<void> {
    this.controllers.set(
      id,
      await startController(this.cluster.admin, [ns(id)], { localReleases: true, heartbeatMs: 1000 }),
    );
  }

  async stopAgent(id: string): Promise<void> {
    await this.controllers.get(id)?.stop();
    this.controllers.delete(id);
  }

  /** A Pulumi project and stack `local` with a file backend, as `pulumi stack init` makes them. */
  private createStack(): void {
    this.state = mkdtempSync(join(tmpdir(), "edgek8s-rollout-stack-"));
    this.project = join(this.state, "project");
    Object.assign(process.env, pulumiEnv(this.state));
    execFileSync("mkdir", ["-p", this.project, join(this.state, "pulumi")]);
    writeFileSync(join(this.project, "Pulumi.yaml"), "name: edgek8s\nruntime: nodejs\n");
    execFileSync(
      toolPath("pulumi"),
      ["stack", "init", "local", "--secrets-provider", "passphrase", "--non-interactive"],
      { cwd: this.project, env: process.env, stdio: "ignore" },
    );
    const file = join(this.project, "Pulumi.local.yaml");
    const doc = (parse(readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>;
    writeFileSync(file, stringify({ ...doc, config: stackConfig(this.cluster.plane.kubeconfigPath) }));
  }

  device(id: string): Promise<DeviceObject | undefined> {
    return this.cluster.admin.get<DeviceObject>(RESOURCES.EdgeDeployment, ns(id), id);
  }

  release(name: string): Promise<ReleaseObject | undefined> {
    return this.cluster.admin.get<ReleaseObject>(RESOURCES.EdgeRelease, undefined, name);
  }

  async stateOf(name: string): Promise<string | undefined> {
    return (await this.release(name))?.spec?.labels?.["edgek8s.state"];
  }

  async addRelease(name: string, priority: number, image: string, target: string, state: string): Promise<void> {
    await this.cluster.admin.apply(edgeRelease(name, priority, image, target, state), "pulumi-kubernetes");
  }

  /** Whether the device runs `image`, acted on its desired version with 200, and is ready for it. */
  async runs(id: string, image: string): Promise<boolean> {
    const d = await this.device(id);
    const s = d?.status;
    return (
      d?.spec?.edgeAgent?.modules?.["sensor"]?.settings?.image === image &&
      s?.desiredVersion === d.spec.desiredVersion &&
      s?.lastDesiredStatus?.code === 200 &&
      s.readiness?.ready === true &&
      s.readiness.readyVersion === d.spec.desiredVersion
    );
  }

  async waitRunning(ids: readonly string[], image: string): Promise<void> {
    for (const id of ids) await waitFor(`${id} runs ${image}`, () => this.runs(id, image), 60_000);
  }

  /** `edgek8s rollout factory --stack local` in a child process of its own, with JSON events. */
  spawnDriver(...args: string[]): Driver {
    return new Driver(this.spawnCommand(["--json", ...args]));
  }

  /** The same, printing for people (transitions and ring tables), its output passed on line by line. */
  spawnCommand(args: readonly string[], onLine?: (line: string) => void): ChildProcess {
    const child = spawn(
      process.execPath,
      [ENTRY, "rollout", "factory", "--stack", "local", "--cwd", this.project, ...args],
      { env: process.env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let buffered = "";
    if (onLine)
      child.stdout?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("utf8");
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) onLine(line);
      });
    return child;
  }

  async stop(): Promise<void> {
    await this.engine?.stop();
    for (const id of [...this.controllers.keys()]) await this.stopAgent(id);
    this.cluster.admin.close();
    await this.cluster.plane.stop();
    if (this.state !== "") rmSync(this.state, { recursive: true, force: true });
  }
}

/** A driver process: its JSON events as they come, and its exit code. */
export class Driver {
  readonly events: Record<string, unknown>[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;

  readonly child: ChildProcess;

  constructor(child: ChildProcess) {
    this.child = child;
    let buffered = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") this.events.push(JSON.parse(line) as Record<string, unknown>);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString("utf8");
    });
    this.exited = new Promise((resolve) =>
      child.on("exit", (code) => {
        resolve(code);
      }),
    );
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }

  /** Exit code, bounded: a driver that does not end in `ms` is killed and the wait fails. */
  async exit(ms = 120_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">(
      (resolve) =>
        (timer = setTimeout(() => {
          resolve("timeout");
        }, ms)),
    );
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result === "timeout") {
      this.kill();
      throw new Error(`driver did not exit within ${ms} ms; stderr: ${this.stderr}`);
    }
    return result;
  }

  transitions(): string[] {
    return this.events
      .filter((e) => e["type"] === "transition")
      .map((e) => `${String(e["ring"])}:${String(e["state"])}`);
  }

  summary(): Record<string, unknown> | undefined {
    return this.events.find((e) => e["type"] === "summary");
  }
}
