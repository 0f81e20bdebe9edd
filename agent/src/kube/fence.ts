/**
 * A gate every write request passes just before its bytes go to the API server. The leader elector
 * is one: it refuses writes unless this replica holds the lease by its own clock, so a replica that
 * was stalled, partitioned or replaced never writes in another replica's term.
 */
export interface WriteFence {
  /** Throws `NotLeaderError` when a write may not be sent now; `what` names the request for the error. */
  assertMayWrite(what: string): void;
}

/** A write refused by the fence: this replica does not (or no longer) hold the leader lease. */
export class NotLeaderError extends Error {
  override readonly name = "NotLeaderError";
}
