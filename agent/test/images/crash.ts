// Exits non-zero shortly after it starts: the runtime restarts it with a growing back-off.
import { logEvent } from "./log.ts";

const code = Number(process.env["EXIT_CODE"] ?? 3);
logEvent("started", { exitCode: code });
setTimeout(() => process.exit(code), 200);
