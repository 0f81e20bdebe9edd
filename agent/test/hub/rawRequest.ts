// One HTTPS request to the hub double, signed with a policy's key, for what the SDK cannot express
// (an unquoted If-Match, a `top` parameter) or hides (response headers).
import type { IncomingHttpHeaders } from "node:http";
import { request as send } from "node:https";
import type { HubDouble } from "./hubDouble.ts";
import { sasToken } from "./sas.ts";

export interface RawReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

export function rawRequest(
  hub: HubDouble,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; policy?: string } = {},
): Promise<RawReply> {
  const policy = options.policy ?? "iothubowner";
  const key = hub.policies.get(policy)?.primaryKey ?? "";
  const authorization = sasToken(hub.hostName, key, Math.floor(Date.now() / 1000) + 600, policy);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const separator = path.includes("?") ? "&" : "?";
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: hub.hostName,
        method,
        path: `${path}${separator}api-version=2021-04-12`,
        agent: hub.agent(),
        headers: {
          authorization,
          ...(payload !== undefined ? { "content-type": "application/json; charset=utf-8" } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: res.statusCode ?? -1,
            headers: res.headers,
            body: text === "" ? undefined : JSON.parse(text),
          });
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}
