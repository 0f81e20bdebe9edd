import type { AuditEntry } from "../cluster/audit.ts";

export interface LeaseRef {
  readonly namespace: string;
  readonly name: string;
  /** The lease duration the replicas run with: a term lasts this long after each renewal. */
  readonly durationMs: number;
}

/** A write a replica made while it did not hold the lease, as the API server saw it. */
export interface OutOfTermWrite {
  readonly entry: AuditEntry;
  readonly why: string;
}

const isLeaseWrite = (e: AuditEntry, lease: LeaseRef) =>
  e.resource === "leases" && e.namespace === lease.namespace && e.name === lease.name;

const succeeded = (e: AuditEntry) => e.code !== undefined && e.code >= 200 && e.code < 300;

/**
 * Every write (any verb, any result: a refused write was still sent) by one of `replicas` that the
 * API server received outside that replica's own term. A replica's term starts with its successful
 * write of the lease, is extended by each renewal for one lease duration, and ends as soon as another
 * replica writes the lease successfully. Only the audit log is read: this is the server's view.
 */
export function writesOutsideTerms(
  entries: readonly AuditEntry[],
  lease: LeaseRef,
  replicas: readonly string[],
): OutOfTermWrite[] {
  const sorted = [...entries].filter((e) => replicas.includes(e.user)).sort((a, b) => a.time - b.time);
  let holder: string | undefined;
  const renewedAt = new Map<string, number>();
  const violations: OutOfTermWrite[] = [];
  for (const entry of sorted) {
    if (isLeaseWrite(entry, lease)) {
      if (succeeded(entry)) {
        holder = entry.user;
        renewedAt.set(entry.user, entry.time);
      }
      continue;
    }
    const renewed = renewedAt.get(entry.user);
    if (holder !== entry.user)
      violations.push({ entry, why: holder ? `${holder} held the lease` : "nobody held the lease yet" });
    else if (renewed === undefined || entry.time - renewed >= lease.durationMs)
      violations.push({ entry, why: `its lease expired ${entry.time - (renewed ?? 0) - lease.durationMs} ms before` });
  }
  return violations;
}

/** One line per write, for reports: when, who, what, result. */
export function describeWrite(e: AuditEntry): string {
  const what = `${e.resource}${e.subresource ? `/${e.subresource}` : ""} ${e.namespace ?? ""}/${e.name ?? ""}`;
  return `${new Date(e.time).toISOString()} ${e.user} ${e.verb} ${what} → ${e.code ?? "?"}`;
}
