import { type Server, createServer } from "node:http";

export interface Probes {
  readonly healthy: () => boolean;
  readonly ready: () => boolean;
  readonly metrics: () => string;
}

/** `/healthz`, `/readyz` and `/metrics` (Prometheus text format) on one port. */
export function startOpsServer(host: string, port: number, probes: Probes): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz" || path === "/readyz") {
      const ok = path === "/healthz" ? probes.healthy() : probes.ready();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "not ready\n");
    } else if (path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(probes.metrics());
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      resolve(server);
    });
  });
}
