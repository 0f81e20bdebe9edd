// The images' health check: exits 0 when http://127.0.0.1:$PORT/health answers 2xx, else 1.
import { port } from "./log.ts";

try {
  const response = await fetch(`http://127.0.0.1:${port()}/health`, { signal: AbortSignal.timeout(2000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
