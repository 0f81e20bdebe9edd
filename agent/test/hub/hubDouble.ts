// A local test double of Azure IoT Hub: the registry REST subset the product uses (devices, module
// identities, twins) over HTTPS on loopback, with shared-access-signature checks as the hub does
// them. Built from IoT Hub's documented REST API; a test fixture, never shipped.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, type Server, createServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { createServerCertificate } from "../../../scripts/cluster/pki.ts";
import { type Sas, parseSas, verifySas } from "./sas.ts";
import { mergePatch } from "../../src/hub/twin.ts";

export const REGISTRY_POLICY = "registryReadWrite";

interface SymmetricKey {
  primaryKey: string;
  secondaryKey: string;
}

export interface ModuleRecord {
  moduleId: string;
  deviceId: string;
  generationId: string;
  etag: string;
  managedBy?: string;
  authentication: { type: "sas"; symmetricKey: SymmetricKey };
}

export interface TwinProperties {
  desired: Record<string, unknown> & { $version: number };
  reported: Record<string, unknown> & { $version: number };
}

export interface DeviceRecord {
  deviceId: string;
  generationId: string;
  etag: string;
  status: string;
  capabilities: { iotEdge: boolean };
  authentication: { type: "sas"; symmetricKey: SymmetricKey };
  tags: Record<string, unknown>;
  modules: Map<string, ModuleRecord>;
  /** Module twins, by module id (`$edgeAgent`, `$edgeHub`, user modules). */
  moduleTwins: Map<string, TwinProperties>;
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** `policy:registryReadWrite`, `device:<id>`, `module:<id>/<module>` or `none`. */
  readonly principal: string;
}

const newKey = () => randomBytes(32).toString("base64");
const etag = () => Buffer.from(randomUUID()).toString("base64");

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function keysOrNew(given: unknown): SymmetricKey {
  const k = (given as { symmetricKey?: Partial<SymmetricKey> } | undefined)?.symmetricKey;
  return { primaryKey: k?.primaryKey || newKey(), secondaryKey: k?.secondaryKey || newKey() };
}

export class HubDouble {
  readonly hostName: string;
  readonly policyKey = newKey();
  readonly devices = new Map<string, DeviceRecord>();
  readonly requests: RequestRecord[] = [];
  /** Set to make every request fail with 503 (the hub is down). */
  unavailable = false;

  /** Adds an IoT Edge device directly (what `pulumi up` or the portal would have done). */
  addEdgeDevice(deviceId: string): DeviceRecord {
    this.route(
      "PUT",
      `/devices/${deviceId}`,
      { deviceId, capabilities: { iotEdge: true } },
      undefined,
      `policy:${REGISTRY_POLICY}`,
    );
    const device = this.devices.get(deviceId);
    if (!device) throw new Error("device not created");
    return device;
  }

  deviceConnectionString(deviceId: string): string {
    const key = this.devices.get(deviceId)?.authentication.symmetricKey.primaryKey ?? "";
    return `HostName=${this.hostName};DeviceId=${deviceId};SharedAccessKey=${key}`;
  }
  private server: Server | undefined;
  private dir: string | undefined;
  private ca: Buffer | undefined;
  port = 0;

  constructor(hostName = "test-hub.azure-devices.net") {
    this.hostName = hostName;
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

  policyConnectionString(): string {
    return `HostName=${this.hostName};SharedAccessKeyName=${REGISTRY_POLICY};SharedAccessKey=${this.policyKey}`;
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

  /** Who signed the request: the registry policy, a device or a module, checked against their keys. */
  authenticate(sas: Sas | undefined): string {
    if (!sas) throw new HttpError(401, "IotHubUnauthorizedAccess", "missing or malformed SharedAccessSignature");
    if (sas.keyName === REGISTRY_POLICY && sas.resource === this.hostName && verifySas(sas, this.policyKey))
      return `policy:${REGISTRY_POLICY}`;
    const match = /^([^/]+)\/devices\/([^/]+)(?:\/modules\/([^/]+))?$/.exec(sas.resource);
    if (match?.[1] === this.hostName && match[2]) {
      const device = this.devices.get(match[2]);
      const record = match[3] ? device?.modules.get(match[3]) : device;
      const key = record?.authentication.symmetricKey;
      if (key && (verifySas(sas, key.primaryKey) || verifySas(sas, key.secondaryKey)))
        return match[3] ? `module:${match[2]}/${match[3]}` : `device:${match[2]}`;
    }
    throw new HttpError(401, "IotHubUnauthorizedAccess", `signature for ${sas.resource} is not valid`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", `https://${this.hostName}`);
    let principal = "none";
    let status: number;
    let body: unknown;
    try {
      if (this.unavailable) throw new HttpError(503, "ServiceUnavailable", "the hub is unavailable");
      principal = this.authenticate(parseSas(req.headers.authorization));
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString("utf8");
      const input = text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>);
      [status, body] = this.route(req.method ?? "GET", url.pathname, input, req.headers["if-match"], principal);
    } catch (error) {
      const e = error instanceof HttpError ? error : new HttpError(500, "ServerError", (error as Error).message);
      status = e.status;
      body = { Message: `ErrorCode:${e.code};${e.message}`, ExceptionMessage: e.message };
    }
    this.requests.push({ method: req.method ?? "", path: url.pathname, status, principal });
    const payload = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(payload),
    });
    res.end(payload);
  }

  private device(id: string): DeviceRecord {
    const device = this.devices.get(id);
    if (!device) throw new HttpError(404, "DeviceNotFound", `device ${id} not found`);
    return device;
  }

  private allowDevice(principal: string, deviceId: string): void {
    if (principal !== `policy:${REGISTRY_POLICY}` && principal !== `device:${deviceId}`)
      throw new HttpError(401, "IotHubUnauthorizedAccess", `${principal} may not manage device ${deviceId}`);
  }

  private route(
    method: string,
    path: string,
    input: Record<string, unknown> | undefined,
    ifMatch: string | undefined,
    principal: string,
  ): [number, unknown] {
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    const isPolicy = principal === `policy:${REGISTRY_POLICY}`;
    if (parts[0] === "devices" && parts[1] && parts.length === 2) {
      if (!isPolicy) throw new HttpError(401, "IotHubUnauthorizedAccess", "registry operations need registryReadWrite");
      return this.deviceRoute(method, parts[1], input, ifMatch);
    }
    if (parts[0] === "devices" && parts[1] && parts[2] === "modules") {
      this.allowDevice(principal, parts[1]);
      return this.moduleRoute(method, this.device(parts[1]), parts[3], input, ifMatch);
    }
    if (parts[0] === "twins" && parts[1] && parts.length === 2) {
      if (!isPolicy) throw new HttpError(401, "IotHubUnauthorizedAccess", "twin operations need registryReadWrite");
      const device = this.device(parts[1]);
      if (method === "PATCH" && input) {
        if (input["tags"]) device.tags = mergePatch(device.tags, input["tags"] as Record<string, unknown>);
        device.etag = etag();
      } else if (method !== "GET") throw new HttpError(405, "MethodNotAllowed", method);
      return [200, this.twinOf(device)];
    }
    throw new HttpError(404, "NotFound", `no route for ${method} ${path}`);
  }

  private deviceRoute(
    method: string,
    id: string,
    input: Record<string, unknown> | undefined,
    ifMatch: string | undefined,
  ): [number, unknown] {
    if (method === "GET") return [200, this.deviceJson(this.device(id))];
    if (method === "DELETE") {
      this.device(id);
      this.devices.delete(id);
      return [204, undefined];
    }
    if (method !== "PUT" || !input) throw new HttpError(400, "ArgumentInvalid", "PUT needs a device body");
    const existing = this.devices.get(id);
    if (existing && ifMatch === undefined)
      throw new HttpError(409, "DeviceAlreadyExists", `a device with id ${id} already exists`);
    if (!existing && ifMatch !== undefined) throw new HttpError(404, "DeviceNotFound", `device ${id} not found`);
    const capabilities = (input["capabilities"] as { iotEdge?: boolean } | undefined) ?? {};
    const record: DeviceRecord = {
      deviceId: id,
      generationId: existing?.generationId ?? String(Date.now()),
      etag: etag(),
      status: typeof input["status"] === "string" ? input["status"] : "enabled",
      capabilities: { iotEdge: capabilities.iotEdge === true },
      authentication: { type: "sas", symmetricKey: keysOrNew(input["authentication"]) },
      tags: existing?.tags ?? {},
      modules: existing?.modules ?? new Map<string, ModuleRecord>(),
      moduleTwins: existing?.moduleTwins ?? new Map<string, TwinProperties>(),
    };
    this.devices.set(id, record);
    // IoT Hub gives every IoT Edge device its two system module identities.
    if (record.capabilities.iotEdge) {
      for (const moduleId of ["$edgeAgent", "$edgeHub"]) {
        if (!record.modules.has(moduleId)) {
          record.modules.set(moduleId, {
            moduleId,
            deviceId: id,
            generationId: String(Date.now()),
            etag: etag(),
            authentication: { type: "sas", symmetricKey: keysOrNew(undefined) },
          });
        }
      }
    }
    return [200, this.deviceJson(record)];
  }

  private moduleRoute(
    method: string,
    device: DeviceRecord,
    moduleId: string | undefined,
    input: Record<string, unknown> | undefined,
    ifMatch: string | undefined,
  ): [number, unknown] {
    if (moduleId === undefined) {
      if (method !== "GET") throw new HttpError(405, "MethodNotAllowed", method);
      return [200, [...device.modules.values()].map((m) => this.moduleJson(m))];
    }
    const existing = device.modules.get(moduleId);
    if (method === "GET" || method === "DELETE") {
      if (!existing) throw new HttpError(404, "ModuleNotFound", `module ${device.deviceId}/${moduleId} not found`);
      if (method === "DELETE") {
        device.modules.delete(moduleId);
        device.moduleTwins.delete(moduleId);
        return [204, undefined];
      }
      return [200, this.moduleJson(existing)];
    }
    if (method !== "PUT" || !input) throw new HttpError(400, "ArgumentInvalid", "PUT needs a module body");
    if (existing && ifMatch === undefined)
      throw new HttpError(
        409,
        "ModuleAlreadyExistsOnDevice",
        `module ${moduleId} already exists on ${device.deviceId}`,
      );
    const record: ModuleRecord = {
      moduleId,
      deviceId: device.deviceId,
      generationId: existing?.generationId ?? String(Date.now()),
      etag: etag(),
      ...(typeof input["managedBy"] === "string" ? { managedBy: input["managedBy"] } : {}),
      authentication: { type: "sas", symmetricKey: keysOrNew(input["authentication"]) },
    };
    device.modules.set(moduleId, record);
    return [200, this.moduleJson(record)];
  }

  private deviceJson(d: DeviceRecord): Record<string, unknown> {
    return {
      deviceId: d.deviceId,
      generationId: d.generationId,
      etag: d.etag,
      status: d.status,
      connectionState: "Disconnected",
      capabilities: d.capabilities,
      authentication: d.authentication,
    };
  }

  private moduleJson(m: ModuleRecord): Record<string, unknown> {
    return { ...m, connectionState: "Disconnected" };
  }

  private twinOf(d: DeviceRecord): Record<string, unknown> {
    return {
      deviceId: d.deviceId,
      etag: d.etag,
      status: d.status,
      tags: d.tags,
      capabilities: d.capabilities,
      properties: { desired: { $version: 1 }, reported: { $version: 1 } },
    };
  }
}
