// A local test double of Azure IoT Hub: the registry and twin REST operations (operations.ts),
// configurations (configurations.ts) and twin queries (queries.ts, twinQuery.ts) over HTTPS on
// loopback, with IoT Hub's access control (permissions.ts, sas.ts), twin rules (twinRules.ts),
// throttles (throttle.ts) and deployment engine (configurationEngine.ts, moved by `engine.tick()`).
// Settings and the switches for facts only a real hub can settle are in settings.ts. It is a
// specification of the real service: it refuses what IoT Hub refuses, and each behaviour cites its
// source. A test fixture, never shipped.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, type Server, createServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { createServerCertificate } from "../../../scripts/cluster/pki.ts";
import { ConfigurationEngine, type EngineHost } from "./configurationEngine.ts";
import { HttpError, type OperationRequest, keylessModule, match } from "./operations.ts";
import { type Policy, type Principal, defaultPolicies, denied, principalName } from "./permissions.ts";
import { QueryIndex } from "./queryIndex.ts";
import { type ConfigurationRecord, type DeviceRecord, type ModuleRecord, keysOf, newEtag } from "./records.ts";
import { covers, expired, parseSas, signedWith } from "./sas.ts";
import { type HubSettings, defaultSettings } from "./settings.ts";
import { Throttles } from "./throttle.ts";
import type { Collection, TwinDocument } from "./twinQuery.ts";
import { applyPatch, sectionProblems } from "./twinRules.ts";

export type { ConfigurationRecord, DeviceRecord, ModuleRecord } from "./records.ts";

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** `policy:<name>`, `device:<id>`, `module:<id>/<module>` or `none`. */
  readonly principal: string;
  /** The operation's name (operations.ts), or undefined for an unknown route. */
  readonly operation: string | undefined;
  /** Whether it was an identity registry operation (the throttled kind). */
  readonly registry: boolean;
}

type DesiredListener = (deviceId: string, moduleId: string, notification: Record<string, unknown>) => void;

export class HubDouble implements EngineHost {
  readonly hostName: string;
  readonly policies: Map<string, Policy> = defaultPolicies();
  readonly devices = new Map<string, DeviceRecord>();
  readonly configurations = new Map<string, ConfigurationRecord>();
  /** Tier limits and the switches for what only a real hub can settle (settings.ts). */
  readonly settings: HubSettings;
  readonly ignoredContentChanges: string[] = [];
  readonly requests: RequestRecord[] = [];
  /** Set to make every HTTPS request fail with 503 (the hub is down). */
  unavailable = false;
  /**
   * Operation throttles, each off until a test sets `throttles.perMinute[kind]` ("Identity registry
   * operations … 100/min/unit", configurations 20/min/unit, queries 20/min/unit on S1), or injects
   * refusals with `throttles.inject(kind, n)` (throttle.ts).
   */
  readonly throttles = new Throttles();
  readonly queryIndex: QueryIndex;
  /** IoT Hub's deployment engine; a test moves its clock with `engine.tick()`. */
  readonly engine: ConfigurationEngine;
  private readonly desiredListeners: DesiredListener[] = [];
  private server: Server | undefined;
  private dir: string | undefined;
  private ca: Buffer | undefined;
  port = 0;

  constructor(hostName = "test-hub.azure-devices.net", settings: Partial<HubSettings> = {}) {
    this.hostName = hostName;
    this.settings = { ...defaultSettings(), ...settings };
    this.queryIndex = new QueryIndex(this.devices, () => this.settings.queryLagTicks);
    this.engine = new ConfigurationEngine(this, () => {
      this.queryIndex.tick();
    });
  }

  /** The identity registry throttle's limit a minute (undefined: off). */
  get registryPerMinute(): number | undefined {
    return this.throttles.perMinute.registry;
  }
  set registryPerMinute(limit: number | undefined) {
    if (limit === undefined) Reflect.deleteProperty(this.throttles.perMinute, "registry");
    else this.throttles.perMinute.registry = limit;
  }

  configurationsChanged(): void {
    this.engine.changed();
  }

  queryDocuments(collection: Collection): readonly TwinDocument[] {
    return this.queryIndex.view(collection);
  }

  async start(): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), "edgek8s-hub-"));
    const pki = await createServerCertificate(this.dir, this.hostName);
    this.ca = readFileSync(pki.caCert);
    this.server = createServer({ cert: readFileSync(pki.cert), key: readFileSync(pki.key) }, (req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => {
      if (this.server)
        this.server.close(() => {
          resolve();
        });
      else resolve();
    });
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** The HTTPS server, for protocols layered on it (MQTT over WebSockets). */
  get httpsServer(): Server {
    if (!this.server) throw new Error("hub double not started");
    return this.server;
  }

  get caCertificate(): Buffer {
    if (!this.ca) throw new Error("hub double not started");
    return this.ca;
  }

  /**
   * An HTTPS agent that reaches the hub's host name at the double's loopback port, trusting the
   * double's CA: what the SDKs' `http.agent` / `webSocketAgent` options take.
   */
  agent(): Agent {
    const agent = new Agent({ ca: this.caCertificate, keepAlive: false });
    const { port, hostName, caCertificate } = this;
    agent.createConnection = (options: object) =>
      connect({ ...options, host: "127.0.0.1", port, servername: hostName, ca: caCertificate });
    return agent;
  }

  /** A shared access policy's connection string (the default policies exist on every new hub). */
  policyConnectionString(name = "registryReadWrite"): string {
    const policy = this.policies.get(name);
    if (!policy) throw new Error(`no shared access policy ${name}`);
    return `HostName=${this.hostName};SharedAccessKeyName=${name};SharedAccessKey=${policy.primaryKey}`;
  }

  deviceConnectionString(deviceId: string): string {
    const key = this.devices.get(deviceId)?.authentication.symmetricKey.primaryKey ?? "";
    return `HostName=${this.hostName};DeviceId=${deviceId};SharedAccessKey=${key}`;
  }

  /** Adds an IoT Edge device directly (what `pulumi up` or the portal would have done). */
  addEdgeDevice(deviceId: string): DeviceRecord {
    this.call("PUT", `/devices/${encodeURIComponent(deviceId)}`, { deviceId, capabilities: { iotEdge: true } });
    const device = this.devices.get(deviceId);
    if (!device) throw new Error("device not created");
    return device;
  }

  /** Runs an operation as `iothubowner` would, without HTTP (test set-up and the MQTT side). */
  call(method: string, path: string, body?: Record<string, unknown>, ifMatch?: string): [number, unknown] {
    const url = new URL(path, `https://${this.hostName}`);
    const found = match(method, url.pathname);
    if (!found) throw new Error(`no operation ${method} ${path}`);
    const [status, reply] = found.operation.handle(this, {
      params: found.params,
      body,
      ifMatch,
      query: url.searchParams,
      headers: {},
    });
    return [status, reply];
  }

  onDesired(listener: DesiredListener): void {
    this.desiredListeners.push(listener);
  }

  desiredChanged(deviceId: string, moduleId: string, notification: Record<string, unknown>): void {
    for (const listener of this.desiredListeners) listener(deviceId, moduleId, notification);
  }

  /**
   * What the solution back end does to a module twin's desired properties: `replace` substitutes the
   * whole document, otherwise it is a partial update. The connected module is notified with "the same
   * form of update (partial or full replacement) executed by the solution back end" (device twins doc,
   * "Device operations"), unless `notify` is false (a notification lost on the way).
   */
  writeDesired(
    deviceId: string,
    moduleId: string,
    content: Record<string, unknown>,
    options: { replace: boolean; notify?: boolean },
  ): number {
    const twin = this.moduleOf(deviceId, moduleId).twin;
    const version = twin.desired.$version + 1;
    const desired = options.replace ? content : applyPatch(twin.desired, content);
    const problems = sectionProblems("desired", desired);
    if (problems.length > 0) throw new Error(`IoT Hub would refuse these desired properties: ${problems.join("; ")}`);
    twin.desired = { ...desired, $version: version };
    twin.etag = newEtag();
    if (options.notify !== false) this.desiredChanged(deviceId, moduleId, { ...content, $version: version });
    return version;
  }

  /**
   * `applyConfigurationContentOnDevice`: each module twin named in the content gets the content as
   * its whole desired properties; module identities it names that do not exist yet are created
   * without keys (ModuleIdentityLifecycleManager.cs: "This call will create all modules in the
   * provided deployment json, but does not create the module credentials").
   */
  applyConfigurationContent(deviceId: string, modulesContent: Record<string, { "properties.desired": unknown }>): void {
    const device = this.devices.get(deviceId);
    if (!device) throw new Error(`no device ${deviceId}`);
    for (const [moduleId, content] of Object.entries(modulesContent)) {
      if (!device.modules.has(moduleId)) device.modules.set(moduleId, keylessModule(deviceId, moduleId));
      this.writeDesired(deviceId, moduleId, content["properties.desired"] as Record<string, unknown>, {
        replace: true,
      });
    }
  }

  moduleOf(deviceId: string, moduleId: string): ModuleRecord {
    const module = this.devices.get(deviceId)?.modules.get(moduleId);
    if (!module) throw new Error(`no module identity ${deviceId}/${moduleId} in the hub double`);
    return module;
  }

  /**
   * Who signed: a shared access policy (`skn`), or a device or module by its own key; an expired,
   * badly encoded or wrongly signed token, or a disabled device, is refused with 401.
   */
  authenticate(token: string | undefined, nowMs = Date.now()): Principal {
    const sas = parseSas(token);
    if (typeof sas === "string") throw new HttpError(401, "IotHubUnauthorizedAccess", sas);
    if (expired(sas, nowMs)) throw new HttpError(401, "IotHubUnauthorizedAccess", "the token has expired");
    if (!covers(this.hostName, sas.resource))
      throw new HttpError(401, "IotHubUnauthorizedAccess", `the token is for ${sas.resource}, not this hub`);
    const refused = new HttpError(401, "IotHubUnauthorizedAccess", `signature for ${sas.resource} is not valid`);
    if (sas.keyName !== undefined) {
      const policy = this.policies.get(sas.keyName);
      if (!policy || ![policy.primaryKey, policy.secondaryKey].some((k) => signedWith(sas, k))) throw refused;
      return { kind: "policy", policy, scope: sas.resource };
    }
    const [, devices, deviceId, modules, moduleId] = sas.resource.split("/");
    const device = devices === "devices" && deviceId ? this.devices.get(deviceId) : undefined;
    if (!device) throw refused;
    if (device.status === "disabled") throw new HttpError(401, "IotHubUnauthorizedAccess", "the device is disabled");
    if (modules === "modules" && moduleId !== undefined) {
      const module = device.modules.get(moduleId);
      if (module && keysOf(module.authentication).some((k) => signedWith(sas, k)))
        return { kind: "module", deviceId: device.deviceId, moduleId, scope: sas.resource };
      throw refused;
    }
    if (keysOf(device.authentication).some((k) => signedWith(sas, k)))
      return { kind: "device", deviceId: device.deviceId, scope: sas.resource };
    throw refused;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", `https://${this.hostName}`);
    const method = req.method ?? "GET";
    const found = match(method, url.pathname);
    let principal: Principal | undefined;
    let status: number;
    let body: unknown;
    let headers: Readonly<Record<string, string>>;
    try {
      if (this.unavailable) throw new HttpError(503, "ServiceUnavailable", "the hub is unavailable");
      principal = this.authenticate(req.headers.authorization);
      if (!found) throw new HttpError(404, "NotFound", `no route for ${method} ${url.pathname}`);
      const { deviceId, moduleId } = found.params;
      const resource = [
        this.hostName,
        ...(deviceId ? ["devices", deviceId] : []),
        ...(moduleId ? ["modules", moduleId] : []),
      ];
      const refusal = covers(principal.scope, resource.join("/"))
        ? denied(principal, found.operation, resource.join("/"), { deviceId, moduleId })
        : `the token is scoped to ${principal.scope}`;
      if (refusal) throw new HttpError(401, "IotHubUnauthorizedAccess", refusal);
      const throttle = found.operation.registry ? "registry" : found.operation.throttle;
      const throttled = throttle && this.throttles.check(throttle, method, Date.now());
      if (throttled) throw throttled;
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString("utf8");
      const request: OperationRequest = {
        params: found.params,
        body: text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>),
        ifMatch: req.headers["if-match"],
        query: url.searchParams,
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : v]),
        ),
      };
      [status, body, headers = {}] = found.operation.handle(this, request);
    } catch (error) {
      const e = error instanceof HttpError ? error : new HttpError(500, "ServerError", (error as Error).message);
      status = e.status;
      // IoT Hub's error shape: the code in `iothub-errorcode` and at the head of `Message`.
      body = { Message: `ErrorCode:${e.code};${e.message}`, ExceptionMessage: e.message };
      headers = { "iothub-errorcode": e.code, ...e.headers };
    }
    this.requests.push({
      method,
      path: url.pathname,
      status,
      principal: principalName(principal),
      operation: found?.operation.name,
      registry: found?.operation.registry ?? false,
    });
    const payload = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, {
      ...headers,
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(payload),
    });
    res.end(payload);
  }
}
