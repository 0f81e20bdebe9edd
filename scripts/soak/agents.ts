import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { get } from "node:http";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../cluster/processes.ts";

export const AGENT_BIN = fileURLToPath(new URL("../../agent/bin/edgek8s.js", import.meta.url));

export interface AgentSpec {
  /** A name for reports; also POD_NAME unless `env` says otherwise. */
  readonly name: string;
  readonly kubeconfig: string;
  /** `edgek8s agent` arguments besides --kubeconfig and --listen. */
  readonly args: readonly string[];
  /** The environment beyond PATH/HOME; POD_NAME defaults to `name`, `undefined` removes it. */
  readonly env?: Record<string, string | undefined>;
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path, timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET :${port}${path} timed out`)));
    req.on("error", reject);
  });
}

/**
 * One `edgek8s agent` process, as a kubelet would run it: its own port, its stderr kept line by
 * line, and the signals a fault injector sends (SIGKILL, SIGSTOP/SIGCONT, SIGTERM).
 */
export class AgentProcess {
  readonly spec: AgentSpec;
  readonly port: number;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private paused = false;

  private constructor(spec: AgentSpec, port: number) {
    this.spec = spec;
    this.port = port;
    const env: Record<string, string> = {};
    for (const key of ["PATH", "HOME", "TMPDIR"]) if (process.env[key] !== undefined) env[key] = process.env[key];
    const extra: Record<string, string | undefined> = { POD_NAME: spec.name, ...spec.env };
    for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
    this.child = spawn(
      process.execPath,
      [AGENT_BIN, "agent", "--kubeconfig", spec.kubeconfig, "--listen", `127.0.0.1:${port}`, ...spec.args],
      { stdio: ["ignore", "ignore", "pipe"], env },
    );
    let buffer = "";
    this.child.stderr?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split("\n");
      buffer = parts.pop() ?? "";
      this.lines.push(...parts.filter((l) => l !== ""));
    });
    this.exited = new Promise((resolve) => this.child.once("exit", resolve));
  }

  /** Starts the process and waits for /healthz (it serves that before it leads). */
  static async start(spec: AgentSpec, timeoutMs = 20_000): Promise<AgentProcess> {
    const agent = new AgentProcess(spec, await freePort());
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (agent.exitCode !== null) throw new Error(`${spec.name} exited:\n${agent.lines.slice(-10).join("\n")}`);
      if ((await agent.get("/healthz").catch(() => undefined))?.status === 200) return agent;
      if (Date.now() > deadline) throw new Error(`${spec.name} not healthy after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exitCode(): number | null {
    return this.child.exitCode ?? (this.child.signalCode !== null ? -1 : null);
  }

  get running(): boolean {
    return this.exitCode === null;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get(path: string): Promise<{ status: number; body: string }> {
    return httpGet(this.port, path);
  }

  /** edgek8s_leader from /metrics: 1 leads, 0 stands by; undefined when it does not answer. */
  async leader(): Promise<number | undefined> {
    const metrics = await this.get("/metrics").catch(() => undefined);
    const match = metrics ? /^edgek8s_leader (\d+)$/m.exec(metrics.body) : null;
    return match ? Number(match[1]) : undefined;
  }

  /** edgek8s_refused_writes_total: writes its fence refused (it did not hold the lease by its own clock). */
  async refusedWrites(): Promise<number | undefined> {
    const metrics = await this.get("/metrics").catch(() => undefined);
    const match = metrics ? /^edgek8s_refused_writes_total (\d+)$/m.exec(metrics.body) : null;
    return match ? Number(match[1]) : undefined;
  }

  /** /readyz status code, undefined when it does not answer. */
  async readiness(): Promise<number | undefined> {
    return (await this.get("/readyz").catch(() => undefined))?.status;
  }

  /** Resident memory in bytes (Linux /proc), undefined once it has exited. */
  rss(): number | undefined {
    if (!this.running || this.pid === undefined) return undefined;
    try {
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${this.pid}/status`, "utf8"));
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    this.child.kill(signal);
    if (signal === "SIGSTOP") this.paused = true;
    if (signal === "SIGCONT") this.paused = false;
  }

  /** SIGTERM (resuming it first if paused), SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (!this.running) return this.exitCode;
    if (this.paused) this.signal("SIGCONT");
    this.signal("SIGTERM");
    const result = await Promise.race([this.exited, sleep(graceMs, "timeout" as const)]);
    if (result === "timeout") {
      this.signal("SIGKILL");
      return this.exited;
    }
    return result;
  }
}
