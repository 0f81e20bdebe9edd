import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";

/**
 * One write request as the API server's audit log records it (the control plane's policy: writes at
 * Metadata level; `ControlPlane.writes()`, the soak's invariants).
 */
export interface AuditEntry {
  /** When the API server received the request (ms since the epoch, its clock). */
  readonly time: number;
  readonly verb: string;
  readonly user: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
  readonly code: number | undefined;
  /** A server-side dry run (`dryRun=All` in the request): it changes nothing. */
  readonly dryRun: boolean;
}

interface RawEvent {
  verb: string;
  requestURI?: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
}

export function parseAuditLine(line: string): AuditEntry {
  const e = JSON.parse(line) as RawEvent;
  return {
    time: Date.parse(e.requestReceivedTimestamp ?? ""),
    verb: e.verb,
    user: e.user.username,
    resource: e.objectRef?.resource ?? "",
    namespace: e.objectRef?.namespace,
    name: e.objectRef?.name,
    subresource: e.objectRef?.subresource,
    code: e.responseStatus?.code,
    dryRun: /[?&]dryRun=All(&|$)/.test(e.requestURI ?? ""),
  };
}

/**
 * Reads an audit log as it grows: each `read` returns the entries appended since the last one (only
 * complete lines), so a long run never parses the whole file twice.
 */
export class AuditReader {
  private offset = 0;
  private partial = "";
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  read(): AuditEntry[] {
    if (!existsSync(this.path)) return [];
    const fd = openSync(this.path, "r");
    try {
      const size = fstatSync(fd).size;
      if (size <= this.offset) return [];
      const buffer = Buffer.alloc(size - this.offset);
      const read = readSync(fd, buffer, 0, buffer.length, this.offset);
      this.offset += read;
      const text = this.partial + buffer.subarray(0, read).toString("utf8");
      const lines = text.split("\n");
      this.partial = lines.pop() ?? "";
      return lines.filter((l) => l !== "").map(parseAuditLine);
    } finally {
      closeSync(fd);
    }
  }
}
