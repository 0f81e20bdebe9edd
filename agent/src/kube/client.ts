import { request } from "node:https";
import type { ClusterConfig } from "./config.ts";
import type { WriteFence } from "./fence.ts";
import type { KubeObject } from "./objects.ts";
import { type ResourceType, resourceFor, resourcePath } from "./resources.ts";
import { RequestTimeoutError, Transport } from "./transport.ts";

export { RequestTimeoutError };

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

const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;
/** The server ends a watch after this long; the client gives up on one that outlives it by a request timeout. */
const WATCH_TIMEOUT_SECONDS = 300;

function query(params: Record<string, string | number | boolean | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number | boolean] => e[1] !== undefined);
  return entries.length === 0
    ? ""
    : `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
}

export interface KubeClientOptions {
  /** A call whose response has not fully arrived after this long fails (watches: once their headers are late). */
  readonly requestTimeoutMs?: number;
  /** Asked just before the bytes of every write request (not GET) go out; none by default. */
  readonly fence?: WriteFence | undefined;
}

/**
 * A small Kubernetes REST client: get, list, watch, server-side apply, delete. Authentication comes
 * from a kubeconfig or the pod's ServiceAccount (see config.ts); connections are kept alive. Every
 * call has a timeout, so a hanging API server never stalls a caller; `with` derives a client with
 * other options (a timeout, a write fence) over the same connections.
 */
export class KubeClient {
  private readonly transport: Transport;
  private readonly requestTimeoutMs: number;
  private readonly fence: WriteFence | undefined;

  constructor(config: ClusterConfig, options: KubeClientOptions = {}, transport?: Transport) {
    this.transport = transport ?? new Transport(config);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.fence = options.fence;
  }

  /** A client over the same connections with some options replaced. */
  with(options: KubeClientOptions): KubeClient {
    return new KubeClient(
      this.transport.config,
      { requestTimeoutMs: this.requestTimeoutMs, fence: this.fence, ...options },
      this.transport,
    );
  }

  private async call<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    const { status, text } = await this.transport.exchange(method, path, body, contentType, {
      timeoutMs: this.requestTimeoutMs,
      fence: method === "GET" ? undefined : this.fence,
    });
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
   * Streams watch events until the server ends the watch or `signal` aborts (then it resolves). A
   * 410 (the resource version expired) arrives as an ERROR event; the caller lists again. A watch
   * whose headers do not come within the request timeout, or that outlives the server's own
   * timeout, fails: a hanging server never leaves a cache silently stale.
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
        timeoutSeconds: WATCH_TIMEOUT_SECONDS,
      });
    const options = this.transport.requestOptions("GET", path, {});
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(headersTimer);
        clearTimeout(lifetimeTimer);
        if (error && !signal.aborted) reject(error);
        else resolve();
      };
      const req = request({ ...options, signal }, (response) => {
        clearTimeout(headersTimer);
        if ((response.statusCode ?? 0) >= 400) {
          response.resume();
          finish(new KubeError(response.statusCode ?? 0, "", `watch ${path}: ${response.statusCode ?? 0}`));
          return;
        }
        let buffer = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          buffer += chunk;
          let newline = buffer.indexOf("\n");
          try {
            while (newline !== -1) {
              const line = buffer.slice(0, newline);
              buffer = buffer.slice(newline + 1);
              if (line.trim() !== "") onEvent(JSON.parse(line) as WatchEvent<T>);
              newline = buffer.indexOf("\n");
            }
          } catch (error) {
            req.destroy(error as Error);
          }
        });
        response.on("end", () => {
          finish();
        });
        response.on("error", finish);
        response.on("close", () => {
          finish(response.complete ? undefined : new Error(`watch ${path}: the connection closed`));
        });
      });
      const late = (what: string, ms: number) => () => {
        req.destroy(new RequestTimeoutError(`watch ${path}: ${what} within ${ms} ms`));
      };
      const lifetimeMs = WATCH_TIMEOUT_SECONDS * 1000 + this.requestTimeoutMs;
      const headersTimer = setTimeout(late("no response", this.requestTimeoutMs), this.requestTimeoutMs);
      const lifetimeTimer = setTimeout(late("not ended by the server", lifetimeMs), lifetimeMs);
      req.on("error", finish);
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
    this.transport.close();
  }
}
