// Runs, but its health endpoint answers 503: a Docker health check on it fails.
import { createServer } from "node:http";
import { logEvent, port } from "./log.ts";

createServer((req, res) => {
  res.writeHead(req.url === "/health" ? 503 : 200).end();
}).listen(port(), () => {
  logEvent("listening", { port: port() });
});
