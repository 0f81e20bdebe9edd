// The latency measurements of reconcile.bench.ts: the agent's, and the floor's (a bare client).
import { performance } from "node:perf_hooks";
import { edgeDeployment } from "../test/integration/harness.ts";
import type { KubeClient } from "../src/kube/client.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { RESOURCES } from "../src/kube/resources.ts";
import { parseManifest } from "../src/manifest/parse.ts";
import { withAppliedHash } from "../src/reconcile/drift.ts";
import { FIELD_MANAGER } from "../src/reconcile/reconciler.ts";
import { DEFAULT_TRANSLATION_DEFAULTS } from "../src/translate/context.ts";
import { translate } from "../src/translate/translate.ts";

export type ManifestOf = (count: number, tag: string) => unknown;

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: pct(sorted, 50), p99: pct(sorted, 99) };
}

type ListedDeployment = KubeObject & { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } };

/** True when a list shows `count` Deployments in `ns` whose image has the tag: the end of a change. */
async function allAt(client: KubeClient, ns: string, count: number, tag: string): Promise<boolean> {
  const list = await client.list<ListedDeployment>(RESOURCES.Deployment, { namespace: ns });
  return list.items.filter((d) => d.spec?.template?.spec?.containers?.[0]?.image?.endsWith(`:${tag}`)).length === count;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 2));
}

/** One way of making a change happen: through an agent (an EdgeDeployment write) or a bare client. */
export interface Writer {
  readonly label: string;
  readonly ns: string;
  /** Makes change `tag` (all Deployments at image tag `tag`) and returns when the writes were sent. */
  change(tag: string): Promise<void>;
}

/** An agent watching `ns`: a change is an EdgeDeployment write. */
export async function agentWriter(
  admin: KubeClient,
  label: string,
  ns: string,
  count: number,
  manifestOf: ManifestOf,
): Promise<Writer> {
  await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await admin.create(edgeDeployment(ns, "device", manifestOf(count, "0")));
  const deadline = performance.now() + 60_000;
  await until(async () => (await allAt(admin, ns, count, "0")) || performance.now() > deadline);
  return {
    label,
    ns,
    change: async (tag) => {
      await admin.apply(edgeDeployment(ns, "device", manifestOf(count, tag)), "bench");
    },
  };
}

/**
 * The floor: the same objects written by a bare client, all at once, by server-side apply as the
 * agent's field manager (after the same dry run when `dryRun`).
 */
export async function floorWriter(
  admin: KubeClient,
  label: string,
  ns: string,
  count: number,
  manifestOf: ManifestOf,
  dryRun: boolean,
): Promise<Writer> {
  await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await Promise.all(changedObjects(ns, manifestOf(count, "0")).map((o) => admin.apply(o, FIELD_MANAGER)));
  return {
    label,
    ns,
    change: async (tag) => {
      const objects = changedObjects(ns, manifestOf(count, tag));
      if (dryRun) await Promise.all(objects.map((o) => admin.dryRunApply(o, FIELD_MANAGER)));
      await Promise.all(objects.map((o) => admin.apply(o, FIELD_MANAGER)));
    },
  };
}

/**
 * Change → a list shows every Deployment at the new image, for each writer in turn, sample by sample,
 * so that all of them meet the same machine load (interleaved, in a rotating order).
 */
export async function compare(
  admin: KubeClient,
  writers: readonly Writer[],
  count: number,
  samples: number,
): Promise<Map<string, Percentiles>> {
  const times = new Map(writers.map((w) => [w.label, [] as number[]]));
  for (let s = 1; s <= samples; s++) {
    for (let i = 0; i < writers.length; i++) {
      const writer = writers[(s + i) % writers.length]!;
      const start = performance.now();
      await writer.change(String(s));
      await until(() => allAt(admin, writer.ns, count, String(s)));
      times.get(writer.label)!.push(performance.now() - start);
    }
  }
  return new Map([...times].map(([label, t]) => [label, percentiles(t)]));
}

/** Change → every Deployment applied, through an agent watching `ns` (which this creates with its EdgeDeployment). */
export async function measureLatency(
  admin: KubeClient,
  ns: string,
  count: number,
  samples: number,
  manifestOf: ManifestOf,
): Promise<Percentiles> {
  await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await admin.create(edgeDeployment(ns, "device", manifestOf(count, "0")));
  const deadline = performance.now() + 60_000;
  await until(async () => (await allAt(admin, ns, count, "0")) || performance.now() > deadline);
  const times: number[] = [];
  for (let s = 1; s <= samples; s++) {
    const start = performance.now();
    await admin.apply(edgeDeployment(ns, "device", manifestOf(count, String(s))), "bench");
    await until(() => allAt(admin, ns, count, String(s)));
    times.push(performance.now() - start);
  }
  return percentiles(times);
}

/** What a change makes the agent write: the module Deployments, as translation renders them. */
function changedObjects(ns: string, manifest: unknown): KubeObject[] {
  const parsed = parseManifest(manifest);
  if (!parsed.ok) throw new Error(parsed.issues.map((i) => i.message).join("; "));
  const translation = translate(parsed.manifest, {
    deviceId: "device",
    hubHostName: "bench-hub.azure-devices.net",
    namespace: ns,
    defaults: DEFAULT_TRANSLATION_DEFAULTS,
  });
  return translation.objects
    .filter((o) => o.kind === "Deployment" && o.metadata.name !== "edgehub")
    .map((o) => withAppliedHash(o as KubeObject));
}
