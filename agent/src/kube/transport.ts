import { Agent, type RequestOptions, request } from "node:https";
import { readFileSync } from "node:fs";
import { TLSSocket } from "node:tls";
import type { ClusterConfig } from "./config.ts";
import type { WriteFence } from "./fence.ts";

const TOKEN_REREAD_MS = 60_000;

/** A request that got no (complete) response in time: the server hangs, or the network does. */
export class RequestTimeoutError extends Error {
  override readonly name = "RequestTimeoutError";
}

/**
 * What clients derived from one another share: the configuration, the connection pool (kept alive)
 * and the token. Sends one request and reads its whole response, within a timeout, asking a write
 * fence at the last moment.
 */
export class Transport {
  readonly config: ClusterConfig;
  private readonly server: URL;
  private readonly agent: Agent;
  private token: { value: string; readAt: number } | undefined;

  constructor(config: ClusterConfig) {
    this.config = config;
    this.server = new URL(config.server);
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 32,
      ca: config.ca,
      cert: config.cert,
      key: config.key,
      rejectUnauthorized: config.insecureSkipTlsVerify !== true,
    });
  }

  /** A token file (a projected ServiceAccount token rotates) is read again at most once a minute, not per request. */
  private bearer(now = Date.now()): string | undefined {
    const file = this.config.tokenFile;
    if (file === undefined) return this.config.token;
    if (!this.token || now - this.token.readAt > TOKEN_REREAD_MS) {
      this.token = { value: readFileSync(file, "utf8").trim(), readAt: now };
    }
    return this.token.value;
  }

  requestOptions(method: string, path: string, headers: Record<string, string>): RequestOptions {
    const token = this.bearer();
    const url = new URL(path, this.server);
    return {
      method,
      headers: {
        accept: "application/json",
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      agent: this.agent,
      hostname: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
    };
  }

  /**
   * Sends a request and reads the whole response within `timeoutMs`. A `fence` is asked twice:
   * before anything starts, and again once a connection is ready, right before the request's bytes
   * are written, so a process paused in between (SIGSTOP, a long GC) cannot write on resume.
   */
  exchange(
    method: string,
    path: string,
    body: unknown,
    contentType: string,
    { timeoutMs, fence }: { timeoutMs: number; fence: WriteFence | undefined },
  ): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> =
      payload === undefined
        ? {}
        : { "content-type": contentType, "content-length": String(Buffer.byteLength(payload)) };
    const what = `${method} ${path}`;
    fence?.assertMayWrite(what);
    const options = this.requestOptions(method, path, headers);
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | undefined, result?: { status: number; text: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(result!);
      };
      const req = request(options, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          finish(undefined, { status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
        });
        response.on("error", finish);
        response.on("close", () => {
          if (!response.complete) finish(new Error(`${what}: the connection closed before the response ended`));
        });
      });
      const timer = setTimeout(() => {
        req.destroy(new RequestTimeoutError(`${what}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on("error", finish);
      if (!fence) {
        req.end(payload);
        return;
      }
      req.once("socket", (socket) => {
        const send = () => {
          try {
            fence.assertMayWrite(what);
          } catch (error) {
            req.destroy(error as Error);
            return;
          }
          req.end(payload);
        };
        if (!socket.connecting) send();
        else socket.once(socket instanceof TLSSocket ? "secureConnect" : "connect", send);
      });
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
