import { Agent, type RequestOptions, request } from "node:https";
import type { IncomingMessage } from "node:http";
import { readFileSync } from "node:fs";
import type { ClusterConfig } from "./config.ts";
import type { KubeObject } from "./objects.ts";
import { type ResourceType, resourceFor, resourcePath } from "./resources.ts";

/** An API error with the status the server gave (404, 409, 410, 422, …) and its message. */
export class KubeError extends Error {
  override readonly name = "KubeError";
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

export interface ListResult<T> {
  readonly items: T[];
  readonly resourceVersion: string;
}

export type WatchEvent<T> =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: T }
  | { type: "BOOKMARK"; object: KubeObject }
  | { type: "ERROR"; object: { code?: number; reason?: string; message?: string } };

export interface Selector {
  readonly namespace?: string | undefined;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
}

const TOKEN_REREAD_MS = 60_000;

function query(params: Record<string, string | number | boolean | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number | boolean] => e[1] !== undefined);
  return entries.length === 0
    ? ""
    : `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
}

/**
 * A small Kubernetes REST client: get, list, watch, server-side apply, delete. Authentication comes
 * from a kubeconfig or the pod's ServiceAccount (see config.ts); connections are kept alive.
 */
export class KubeClient {
  private readonly config: ClusterConfig;
  private cachedToken: { value: string; readAt: number } | undefined;
  private readonly server: URL;
  private readonly agent: Agent;

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
  private token(now = Date.now()): string | undefined {
    const file = this.config.tokenFile;
    if (file === undefined) return this.config.token;
    if (!this.cachedToken || now - this.cachedToken.readAt > TOKEN_REREAD_MS) {
      this.cachedToken = { value: readFileSync(file, "utf8").trim(), readAt: now };
    }
    return this.cachedToken.value;
  }

  private options(method: string, path: string, headers: Record<string, string>): RequestOptions {
    const token = this.token();
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

  private async send(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<IncomingMessage> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> =
      payload === undefined
        ? {}
        : { "content-type": contentType, "content-length": String(Buffer.byteLength(payload)) };
    const options = this.options(method, path, headers);
    return new Promise((resolve, reject) => {
      const req = request(options, resolve);
      req.on("error", reject);
      req.end(payload);
    });
  }

  private async call<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const response = await this.send(method, path, body, contentType);
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const status = response.statusCode ?? 0;
    if (status >= 400) {
      let reason = "";
      let message = text;
      try {
        const parsed = JSON.parse(text) as { reason?: string; message?: string };
        reason = parsed.reason ?? "";
        message = parsed.message ?? text;
      } catch {
        // not a Status object
      }
      throw new KubeError(status, reason, `${method} ${path}: ${status} ${message}`);
    }
    return (text === "" ? {} : JSON.parse(text)) as T;
  }

  async get<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.call<T>("GET", resourcePath(type, namespace, name));
    } catch (error) {
      if (error instanceof KubeError && error.status === 404) return undefined;
      throw error;
    }
  }

  async list<T extends KubeObject>(type: ResourceType, selector: Selector = {}): Promise<ListResult<T>> {
    const path =
      resourcePath(type, selector.namespace) +
      query({ labelSelector: selector.labelSelector, fieldSelector: selector.fieldSelector });
    const result = await this.call<{ items: T[]; metadata: { resourceVersion: string } }>("GET", path);
    const kind = type.kind;
    return {
      items: result.items.map((item) => ({ ...item, apiVersion: type.apiVersion, kind })),
      resourceVersion: result.metadata.resourceVersion,
    };
  }

  /**
   * Streams watch events until the server ends the watch or `signal` aborts. A 410 (the resource
   * version expired) arrives as an ERROR event; the caller lists again.
   */
  async watch<T extends KubeObject>(
    type: ResourceType,
    selector: Selector,
    resourceVersion: string,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const path =
      resourcePath(type, selector.namespace) +
      query({
        watch: true,
        allowWatchBookmarks: true,
        resourceVersion,
        labelSelector: selector.labelSelector,
        fieldSelector: selector.fieldSelector,
        timeoutSeconds: 300,
      });
    const options = this.options("GET", path, {});
    await new Promise<void>((resolve, reject) => {
      const req = request({ ...options, signal }, (response) => {
        if ((response.statusCode ?? 0) >= 400) {
          response.resume();
          reject(new KubeError(response.statusCode ?? 0, "", `watch ${path}: ${response.statusCode ?? 0}`));
          return;
        }
        let buffer = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          buffer += chunk;
          let newline = buffer.indexOf("\n");
          while (newline !== -1) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            if (line.trim() !== "") onEvent(JSON.parse(line) as WatchEvent<T>);
            newline = buffer.indexOf("\n");
          }
        });
        response.on("end", resolve);
        response.on("error", reject);
      });
      req.on("error", (error: Error) => {
        if (signal.aborted) resolve();
        else reject(error);
      });
      req.end();
    });
  }

  /**
   * Server-side apply as `fieldManager`, taking ownership of conflicting fields (the caller is the owner
   * of record). `type` is needed only for kinds outside RESOURCES.
   */
  async apply<T extends KubeObject>(
    object: KubeObject,
    fieldManager: string,
    subresource?: "status",
    type: ResourceType = resourceFor(object.kind ?? ""),
  ): Promise<T> {
    const path =
      resourcePath(type, object.metadata?.namespace, object.metadata?.name) +
      (subresource ? `/${subresource}` : "") +
      query({ fieldManager, force: true });
    return this.call<T>("PATCH", path, object, "application/apply-patch+yaml");
  }

  /**
   * The same server-side apply with `dryRun=All`: the API server runs defaulting, validation and
   * admission and answers as it would, but stores nothing. The KubeError says why an object is refused.
   */
  async dryRunApply<T extends KubeObject>(object: KubeObject, fieldManager: string): Promise<T> {
    const path =
      resourcePath(resourceFor(object.kind ?? ""), object.metadata?.namespace, object.metadata?.name) +
      query({ fieldManager, force: true, dryRun: "All" });
    return this.call<T>("PATCH", path, object, "application/apply-patch+yaml");
  }

  async create<T extends KubeObject>(object: KubeObject): Promise<T> {
    const type = resourceFor(object.kind ?? "");
    return this.call<T>("POST", resourcePath(type, object.metadata?.namespace), object);
  }

  /** Replaces an object; the server refuses with 409 when `metadata.resourceVersion` is stale. */
  async replace<T extends KubeObject>(object: KubeObject): Promise<T> {
    const type = resourceFor(object.kind ?? "");
    return this.call<T>("PUT", resourcePath(type, object.metadata?.namespace, object.metadata?.name), object);
  }

  /** Deletes; false when it was already gone. `uid` guards against deleting a newer object of the same name. */
  async delete(type: ResourceType, namespace: string | undefined, name: string, uid?: string): Promise<boolean> {
    try {
      const body = {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: "Background",
        ...(uid ? { preconditions: { uid } } : {}),
      };
      await this.call("DELETE", resourcePath(type, namespace, name), body);
      return true;
    } catch (error) {
      if (error instanceof KubeError && error.status === 404) return false;
      throw error;
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
