/**
 * One debounced, level-triggered work item: any number of `poke()`s while a run is waiting collapse
 * into that run; a poke during a run schedules exactly one more; runs never overlap. A run that
 * fails is retried with exponential backoff.
 */
export interface TriggerOptions {
  /** Quiet time after the first poke before a run, so a burst of watch events makes one run. */
  readonly debounceMs: number;
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** A run resolves true when it did all it had to, false (or throws) to be retried after a backoff. */
export type Run = () => Promise<boolean>;

export class Trigger {
  private readonly run: Run;
  private readonly options: TriggerOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private pokedWhileRunning = false;
  private failures = 0;
  private stopped = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(run: Run, options: TriggerOptions) {
    this.run = run;
    this.options = options;
  }

  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.pokedWhileRunning = true;
      return;
    }
    if (this.timer) return;
    this.schedule(this.options.debounceMs);
  }

  /** No run waiting and none in progress. */
  get idle(): boolean {
    return this.timer === undefined && this.running === undefined;
  }

  /** Resolves when the trigger is idle (or stopped). */
  whenIdle(): Promise<void> {
    return this.idle || this.stopped ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.fire().finally(() => {
        this.running = undefined;
        this.afterRun();
      });
    }, delayMs);
  }

  private async fire(): Promise<void> {
    let ok: boolean;
    try {
      ok = await this.run();
    } catch {
      ok = false;
    }
    this.failures = ok ? 0 : this.failures + 1;
  }

  private afterRun(): void {
    if (this.stopped) return;
    if (this.failures > 0) {
      const base = this.options.baseBackoffMs ?? 500;
      const backoff = Math.min(base * 2 ** (this.failures - 1), this.options.maxBackoffMs ?? 60_000);
      this.pokedWhileRunning = false;
      this.schedule(backoff);
      return;
    }
    if (this.pokedWhileRunning) {
      this.pokedWhileRunning = false;
      this.schedule(this.options.debounceMs);
      return;
    }
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Cancels a waiting run and waits for one in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
