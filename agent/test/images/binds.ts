// Uses two things bound from the host: reads the file FILE and sends "ping" to the unix socket
// SOCKET, logging what each gave; then stays up.
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { logEvent } from "./log.ts";

function ask(socket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = connect(socket, () => client.end("ping"));
    let reply = "";
    client.on("data", (chunk: Buffer) => (reply += chunk.toString()));
    client.on("end", () => {
      resolve(reply);
    });
    client.on("error", reject);
  });
}

const file = process.env["FILE"] ?? "/host/file";
const socket = process.env["SOCKET"] ?? "/host/socket";
let fileContent: string | undefined;
let socketReply: string | undefined;
let error: string | undefined;
try {
  fileContent = readFileSync(file, "utf8").trim();
  socketReply = await ask(socket);
} catch (e) {
  error = (e as Error).message;
}
logEvent("binds", { file: fileContent, socket: socketReply, error });
setInterval(() => undefined, 3_600_000);
