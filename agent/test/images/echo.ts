// Serves HTTP on a port its manifest does not declare, as many IoT Edge modules do (Docker's network
// reaches every port of a module by its name).
import { createServer } from "node:http";
import { logEvent, port } from "./log.ts";

createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ module: process.env["IOTEDGE_MODULEID"], path: req.url }));
}).listen(port(), () => {
  logEvent("listening", { port: port() });
});
