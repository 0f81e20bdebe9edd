import type { Configuration, Registry } from "azure-iothub";
import { statusOf } from "../hub/retry.ts";
import { mapLimit } from "../runtime/mapLimit.ts";
import type { RingTally } from "./classify.ts";
import { HubCalls, type RetryPolicy } from "./hubCalls.ts";
import {
  appliedWhere,
  classQueries,
  devicesQuery,
  isApplied,
  reportFromTwin,
  stillCarriesLayer,
} from "./hubQueries.ts";
import { LEASE_LABEL, type Lease, labelsWithStatus, leaseLabels, leaseOf } from "./labels.ts";
import { STATIC_LABEL } from "./labels.ts";
import type { ReleaseRecord } from "./releases.ts";
import type { Observation } from "./stateMachine.ts";
import { LostRace, type ObserveRequest, type ReleaseStore, type RolloutWrite, StoreError } from "./store.ts";

/**
 * The releases of a hub stack: IoT Hub configurations, through the `azure-iothub` Registry.
 * - A write is one `updateConfiguration` of the configuration as read, with only the target condition
 *   and the rollout's labels changed, sent with `If-Match` and the etag the SDK quotes
 *   (`_ensureQuoted`, azure-iot-hub-node `src/registry.ts`); content is sent back unchanged, as the
 *   update must carry it ([3p] ROLLOUT.md H15). 412 means another writer won: `LostRace`.
 * - Rings of up to `twinReadLimit` devices are read twin by twin (`$edgeAgent` module twins, 100/s on
 *   S1): exact, no query-index lag. Larger rings are counted with `COUNT()` queries (20/min/unit on
 *   S1), the ring's size once per condition and evaluation window.
 * - `testQueries` has no Registry method; it is called through the Registry's own signed REST
 *   client, as the generated `pl` client does (`POST /configurations/testQueries`, api-version
 *   2021-04-12, azure-iot-hub-node `src/pl/operations/configurationOperations.ts`).
 */
export interface HubStoreOptions {
  readonly registry: Registry;
  readonly hostName: string;
  readonly retry: RetryPolicy;
  /** Rings up to this many devices are read twin by twin (default 50). */
  readonly twinReadLimit?: number;
  /** The hub's configuration cap (100 on paid tiers, 10 on F1). */
  readonly maxConfigurations?: number;
  /** Twin reads at once. */
  readonly concurrency?: number;
}

const EXPECTED_TTL_MS = 5 * 60_000;

function recordOf(c: Configuration): ReleaseRecord {
  const labels = c.labels ?? {};
  return {
    id: c.id,
    track: labels[STATIC_LABEL.track],
    priority: c.priority ?? 0,
    targetCondition: c.targetCondition ?? "",
    labels,
    lease: leaseOf(labels),
    version: c.etag ?? "",
  };
}

export class HubStore implements ReleaseStore {
  readonly where: string;
  private readonly registry: Registry;
  private readonly options: HubStoreOptions;
  readonly calls: HubCalls;
  private readonly configurations = new Map<string, Configuration>();
  private readonly expectedCache = new Map<string, { count: number; at: number }>();

  constructor(options: HubStoreOptions) {
    this.options = options;
    this.registry = options.registry;
    this.where = `IoT Hub ${options.hostName}`;
    this.calls = new HubCalls(options.retry);
  }

  async list(): Promise<ReleaseRecord[]> {
    const { responseBody } = await this.calls.call("configurationRead", () => this.registry.getConfigurations());
    for (const c of responseBody) this.configurations.set(c.id, c);
    return responseBody.map(recordOf);
  }

  async read(id: string): Promise<ReleaseRecord | undefined> {
    try {
      const { responseBody } = await this.calls.call("configurationRead", () => this.registry.getConfiguration(id));
      this.configurations.set(id, responseBody);
      return recordOf(responseBody);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async write(record: ReleaseRecord, change: RolloutWrite): Promise<ReleaseRecord> {
    const read = this.configurations.get(record.id);
    if (!read) throw new StoreError(`${record.id} was not read before it is written`);
    const leaseKeys: string[] = Object.values(LEASE_LABEL);
    const labels = Object.fromEntries(
      Object.entries(labelsWithStatus(record.labels, change.state, change.ring, change.since, change.reason)).filter(
        ([key]) => !leaseKeys.includes(key),
      ),
    );
    const lease: Lease | undefined = change.lease;
    const next: Configuration = {
      ...read,
      etag: record.version,
      targetCondition: change.targetCondition ?? record.targetCondition,
      labels: { ...labels, ...(lease ? leaseLabels(lease.holder, new Date(lease.renewed)) : {}) },
    };
    let answer: unknown;
    try {
      answer = (await this.calls.call("configurationWrite", () => this.registry.updateConfiguration(next)))
        .responseBody;
    } catch (error) {
      if (statusOf(error) === 412) throw new LostRace("412 Precondition Failed");
      throw error;
    }
    // The PUT answers with the configuration as stored, new etag included; read it only if it did not.
    const written = answer as Configuration | undefined;
    if (written?.id === record.id && typeof written.etag === "string") {
      this.configurations.set(record.id, written);
      return recordOf(written);
    }
    const fresh = await this.read(record.id);
    if (!fresh) throw new StoreError(`${record.id} is gone from ${this.where}`);
    return fresh;
  }

  async remove(id: string): Promise<void> {
    try {
      await this.calls.call("configurationWrite", () => this.registry.removeConfiguration(id));
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  /** Rows of a query, every page, stopping once more than `stopAfter` rows have come. */
  private async query(sql: string, stopAfter = Infinity): Promise<Record<string, unknown>[]> {
    const query = this.registry.createQuery(sql, 100);
    const rows: Record<string, unknown>[] = [];
    do {
      const page = await this.calls.call("query", () => query.next());
      rows.push(...(page.result as Record<string, unknown>[]));
    } while (query.hasMoreResults && rows.length <= stopAfter);
    return rows;
  }

  private async countOf(sql: string): Promise<number> {
    const [row] = await this.query(sql);
    return typeof row?.["n"] === "number" ? row["n"] : 0;
  }

  async count(condition: string): Promise<number> {
    return this.countOf(devicesQuery(condition, true));
  }

  private async expected(condition: string, now: Date): Promise<number> {
    const cached = this.expectedCache.get(condition);
    if (cached && now.getTime() - cached.at < EXPECTED_TTL_MS) return cached.count;
    const count = await this.count(condition);
    this.expectedCache.set(condition, { count, at: now.getTime() });
    return count;
  }

  async observe(request: ObserveRequest): Promise<Observation> {
    const limit = this.options.twinReadLimit ?? 50;
    const ids = (await this.query(devicesQuery(request.condition), limit)).map((r) => String(r["deviceId"]));
    if (ids.length <= limit) {
      const twins = await mapLimit(ids, this.options.concurrency ?? 10, async (id) => {
        const { responseBody } = await this.calls.call("twinRead", () => this.registry.getModuleTwin(id, "$edgeAgent"));
        return responseBody;
      });
      const rollingBack = request.judged !== request.candidate;
      const contentOf = (id: string) => this.configurations.get(id)?.content?.modulesContent;
      const report = (twin: unknown, i: number) => {
        const r = reportFromTwin(ids[i]!, twin, request.judged);
        // A layer the hub left on the device is not rolled back there, whatever its configurations say.
        return rollingBack && stillCarriesLayer(twin, contentOf(request.candidate), contentOf(request.judged))
          ? { ...r, appliedConfiguration: request.candidate }
          : r;
      };
      return {
        now: request.now,
        expected: ids.length,
        applied: twins.filter((t) => isApplied(t, request.candidate)).length,
        reports: request.reports ? twins.map(report) : [],
      };
    }
    // Too many devices to read one by one: count them per class instead.
    const scope = request.judged === request.candidate ? request.condition : request.trackCondition;
    const expected = await this.expected(scope, request.now);
    const applied = await this.countOf(
      `SELECT COUNT() AS n FROM devices.modules WHERE ${appliedWhere(request.candidate)}`,
    );
    if (!request.reports) return { now: request.now, expected, applied, reports: [] };
    const q = classQueries(request.judged, request.gates, request.now);
    const succeeded = await this.countOf(q.succeeded);
    const failed = await this.countOf(q.failed);
    const unreachable = await this.countOf(q.unreachable);
    const failingRows = failed > 0 ? (await this.query(q.failing, 20)).slice(0, 20) : [];
    const tally: RingTally = {
      expected,
      succeeded,
      failed,
      unreachable,
      pending: Math.max(0, expected - succeeded - failed - unreachable),
      failing: failingRows.map((row) => ({
        deviceId: String(row["deviceId"]),
        class: "failed" as const,
        reason: failingReason(row),
      })),
      unreachableDevices: [],
    };
    return { now: request.now, expected, applied, reports: [], tally };
  }

  async preflight(conditions: readonly string[]): Promise<string[]> {
    const problems: string[] = [];
    const client = (this.registry as unknown as { _restApiClient: RestClient })._restApiClient;
    for (const condition of conditions) {
      const answer = await this.calls.call("query", () => testQueries(client, condition));
      if (answer.targetConditionError) problems.push(`condition ${condition}: ${answer.targetConditionError}`);
    }
    const all = await this.list();
    const max = this.options.maxConfigurations ?? 100;
    if (all.length > max) problems.push(`${this.where} holds ${all.length} configurations, above its limit of ${max}`);
    return problems;
  }

  usage(): readonly string[] {
    return this.calls.summary();
  }

  close(): void {}
}

function failingReason(row: Record<string, unknown>): string {
  const status = (row["status"] ?? {}) as { code?: unknown; description?: unknown };
  const readiness = (row["readiness"] ?? {}) as { ready?: unknown; readySince?: unknown };
  if (status.code === 200 && readiness.ready === false)
    return `modules not ready since ${typeof readiness.readySince === "string" ? readiness.readySince : "?"}`;
  const code = typeof status.code === "number" ? String(status.code) : "no code";
  return typeof status.description === "string" && status.description !== "" ? `${code}: ${status.description}` : code;
}

interface RestClient {
  executeApiCall(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: unknown,
    done: (error: Error | null, result?: unknown) => void,
  ): void;
}

interface TestQueriesResult {
  readonly targetConditionError?: string;
  readonly customMetricQueryErrors?: Record<string, string>;
}

function testQueries(client: RestClient, targetCondition: string): Promise<TestQueriesResult> {
  return new Promise((resolve, reject) => {
    client.executeApiCall(
      "POST",
      "/configurations/testQueries?api-version=2021-04-12",
      { "Content-Type": "application/json; charset=utf-8" },
      { targetCondition, customMetricQueries: {} },
      (error, result) => {
        if (error) reject(error);
        else resolve(result ?? {});
      },
    );
  });
}
