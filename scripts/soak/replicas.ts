import type { KubeClient } from "../../agent/src/kube/client.ts";
import type { KubeObject } from "../../agent/src/kube/objects.ts";
import { RESOURCES } from "../../agent/src/kube/resources.ts";
import { AgentProcess, type AgentSpec } from "./agents.ts";
import type { RssSample } from "./invariants.ts";

/** One process a replica ran (a replica restarts after SIGKILL, as under a kubelet), with what it left behind. */
export interface Instance {
  readonly replica: string;
  readonly process: AgentProcess;
  readonly startedAt: number;
  readonly rss: RssSample[];
  /** The exit code once it ended, if it ended by our SIGTERM; -1 after SIGKILL. */
  exitCode?: number | null;
  /** Writes its fence refused, as last scraped. */
  refusedWrites: number;
}

/**
 * The agent replicas of the soak: each has a name (its POD_NAME, so its lease identity) and its own
 * ServiceAccount; a replica that is killed is started again under the same name, as a kubelet does.
 */
export class Replicas {
  readonly instances: Instance[] = [];
  private readonly current = new Map<string, Instance>();
  private readonly specs: ReadonlyMap<string, AgentSpec>;
  private readonly admin: KubeClient;
  private readonly lease: { namespace: string; name: string };
  private sampler: NodeJS.Timeout | undefined;

  constructor(specs: readonly AgentSpec[], admin: KubeClient, lease: { namespace: string; name: string }) {
    this.specs = new Map(specs.map((s) => [s.name, s]));
    this.admin = admin;
    this.lease = lease;
  }

  get names(): string[] {
    return [...this.specs.keys()];
  }

  process(name: string): AgentProcess | undefined {
    return this.current.get(name)?.process;
  }

  async start(name: string): Promise<void> {
    const spec = this.specs.get(name);
    if (!spec) throw new Error(`no replica ${name}`);
    const process = await AgentProcess.start(spec);
    const instance: Instance = { replica: name, process, startedAt: Date.now(), rss: [], refusedWrites: 0 };
    this.instances.push(instance);
    this.current.set(name, instance);
  }

  async startAll(): Promise<void> {
    for (const name of this.names) await this.start(name);
    // Memory of every live process every 5 s, for the trend check; and what its fence refused.
    this.sampler = setInterval(() => {
      for (const instance of this.current.values()) {
        if (instance.process.isPaused) continue;
        const bytes = instance.process.rss();
        if (bytes !== undefined) instance.rss.push({ at: Date.now(), bytes });
        void this.scrape(instance);
      }
    }, 5000);
    this.sampler.unref();
  }

  private async scrape(instance: Instance): Promise<void> {
    const refused = await instance.process.refusedWrites();
    if (refused !== undefined) instance.refusedWrites = Math.max(instance.refusedWrites, refused);
  }

  async scrapeAll(): Promise<void> {
    for (const instance of this.current.values()) if (!instance.process.isPaused) await this.scrape(instance);
  }

  kill(name: string): void {
    const instance = this.current.get(name);
    if (!instance) return;
    instance.process.signal("SIGKILL");
    instance.exitCode = -1;
  }

  /**
   * The replica that leads: the Lease's holder when the API server answers, else the one whose
   * metrics say so; undefined when none does.
   */
  async leader(): Promise<string | undefined> {
    try {
      const lease = await this.admin.get<KubeObject & { spec?: { holderIdentity?: string | null } }>(
        RESOURCES.Lease,
        this.lease.namespace,
        this.lease.name,
      );
      const holder = lease?.spec?.holderIdentity ?? undefined;
      if (holder !== undefined && this.current.get(holder)?.process.running) return holder;
    } catch {
      // the API server is away: ask the replicas
    }
    for (const [name, instance] of this.current) if ((await instance.process.leader()) === 1) return name;
    return undefined;
  }

  async stopAll(): Promise<void> {
    if (this.sampler) clearInterval(this.sampler);
    for (const instance of this.current.values()) {
      if (instance.process.running && !instance.process.isPaused) await this.scrape(instance);
      const code = await instance.process.stop(20_000);
      instance.exitCode ??= code;
    }
  }
}
