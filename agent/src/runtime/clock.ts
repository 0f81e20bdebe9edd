/**
 * Milliseconds on a monotonic clock (never the wall clock), for durations and leases. The same clock
 * as `performance.now()` without loading Node's perf_hooks, which alone adds 0.8 MB to the agent's
 * resident memory (docs/benchmarks.md).
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
