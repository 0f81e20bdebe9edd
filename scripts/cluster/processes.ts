import { type ChildProcess, spawn } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** A free TCP port on loopback (bound, then released for the caller). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === "object" && address) resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/** A server process of the control plane, its output in a log file that failures quote. */
export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private readonly command: string;
  private readonly args: readonly string[];
  private readonly detached: boolean;

  constructor(name: string, command: string, args: readonly string[], logFile: string, detached = false) {
    this.name = name;
    this.command = command;
    this.args = args;
    this.logFile = logFile;
    this.detached = detached;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    const log = openSync(this.logFile, "a");
    const child = spawn(this.command, [...this.args], { stdio: ["ignore", log, log], detached: this.detached });
    closeSync(log);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code) => {
        resolve(code);
      });
    });
    if (this.detached) child.unref();
    this.child = child;
  }

  /** The last lines of the process's log, for error messages. */
  tail(lines = 15): string {
    try {
      return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill("SIGTERM");
    const done = await Promise.race([this.exited, sleep(graceMs, "timeout" as const)]);
    if (done === "timeout") {
      child.kill("SIGKILL");
      await this.exited;
    }
  }
}

/** An error that stops `waitFor` at once (a process it waits on has exited). */
export class FatalError extends Error {
  override readonly name = "FatalError";
}

/** Polls `check` until it returns true, or fails with `describe()` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  describe: () => string = () => "",
  pollMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof FatalError) throw error;
      // anything else: not ready yet
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms\n${describe()}`);
    await sleep(pollMs);
  }
}
