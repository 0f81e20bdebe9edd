/** A minimal Prometheus text-format registry: counters, gauges and one histogram, with labels. */
type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  return entries.length === 0
    ? ""
    : `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(",")}}`;
}

class Counter {
  private readonly values = new Map<string, number>();
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  constructor(name: string, help: string, type: "counter" | "gauge" = "counter") {
    this.name = name;
    this.help = help;
    this.type = type;
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  set(labels: Labels, value: number): void {
    this.values.set(labelText(labels), value);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const [labels, value] of this.values) lines.push(`${this.name}${labels} ${value}`);
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    return lines.join("\n");
  }
}

class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  constructor(name: string, help: string, buckets: readonly number[]) {
    this.name = name;
    this.help = help;
    this.buckets = buckets;
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.buckets.forEach((bound, i) => {
      if (value <= bound) this.counts[i]!++;
    });
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((bound, i) => lines.push(`${this.name}_bucket{le="${bound}"} ${this.counts[i]!}`));
    lines.push(
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${this.sum}`,
      `${this.name}_count ${this.count}`,
    );
    return lines.join("\n");
  }
}

export class Metrics {
  readonly reconcileDuration = new Histogram(
    "edgek8s_reconcile_duration_seconds",
    "Time of one reconcile pass.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly reconciles = new Counter("edgek8s_reconciles_total", "Reconcile passes by result.");
  readonly reconcileErrors = new Counter("edgek8s_reconcile_errors_total", "Reconcile passes that failed.");
  readonly appliedObjects = new Counter(
    "edgek8s_applied_objects_total",
    "Objects written by server-side apply, by kind.",
  );
  readonly queueDepth = new Counter("edgek8s_queue_depth", "Keys waiting in the work queue.", "gauge");
  readonly leader = new Counter("edgek8s_leader", "1 when this process holds the leader lease.", "gauge");
  readonly cachedObjects = new Counter("edgek8s_cached_objects", "Objects in the watch cache.", "gauge");
  readonly refusedWrites = new Counter(
    "edgek8s_refused_writes_total",
    "Writes not sent because this process did not hold the leader lease by its own clock.",
  );

  render(): string {
    return `${[this.reconcileDuration, this.reconciles, this.reconcileErrors, this.appliedObjects, this.queueDepth, this.leader, this.cachedObjects, this.refusedWrites].map((m) => m.render()).join("\n")}\n`;
  }
}
