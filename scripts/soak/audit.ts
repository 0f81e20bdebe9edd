// The audit log reader moved to scripts/cluster/audit.ts (the control plane writes the log); this
// keeps the path agent/test/integration/leaderFaults.test.ts imports.
export { type AuditEntry, AuditReader, parseAuditLine } from "../cluster/audit.ts";
