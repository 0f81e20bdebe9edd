// The hub double's device-facing side: MQTT 3.1.1 over WebSockets (`wss://<hub>/$iothub/websocket`,
// what the device SDKs' MqttWs transport speaks). Source for each behaviour: learn.microsoft.com
// "Communicate with an IoT hub using the MQTT protocol" (articles/iot/iot-mqtt-connect-to-iot-hub.md):
//   - CONNECT as a module: client id `{device-id}/{module-id}`, username
//     `{hub}/{device_id}/{module_id}/?api-version=…`, password a SAS token of that identity
//     (a device: client id `{device-id}`, username `{hub}/{device-id}/?api-version=…`);
//   - "IoT Hub only supports one active MQTT connection per device. Any new MQTT connection on behalf
//     of the same device ID causes IoT Hub to drop the existing connection" (400027
//     ConnectionForcefullyClosedOnNewConnection);
//   - twin GET `$iothub/twin/GET/?$rid=` → `$iothub/twin/res/200/?$rid=` with `{desired, reported}`;
//   - reported PATCH `$iothub/twin/PATCH/properties/reported/?$rid=` → `res/204/?$rid=…&$version=`, or
//     400 (and 429, 5xx); the error body carries `errorCode` and `message`, which is what the Node SDK
//     turns into an error (azure-iot-sdk-node PR #590, mqtt_twin_client.ts);
//   - desired notifications on `$iothub/twin/PATCH/properties/desired/?$version=` "contain the content
//     of the update performed by the solution back end": a patch for a partial update, the whole
//     document for a replacement (device twins doc: "the same form of update (partial or full
//     replacement)"). Only connected devices are notified.
// And from the SAS article: "When the token expires, the IoT hub severs the device/module connection."
import { randomUUID } from "node:crypto";
import mqtt from "mqtt-packet";
import { WebSocketServer, type WebSocket } from "ws";
import type { HubDouble } from "./hubDouble.ts";
import { HttpError } from "./operations.ts";
import { type Principal, denied } from "./permissions.ts";
import { type TwinRecord, newEtag } from "./records.ts";
import { covers } from "./sas.ts";
import { applyPatch, sectionProblems } from "./twinRules.ts";

interface Session {
  readonly deviceId: string;
  /** "" for a device's own connection. */
  readonly moduleId: string;
  readonly socket: WebSocket;
  readonly subscriptions: Set<string>;
  readonly expiry: NodeJS.Timeout;
}

export interface ReportedPatch {
  readonly deviceId: string;
  readonly moduleId: string;
  readonly patch: Record<string, unknown>;
  /** 204 when applied, else the error status. */
  readonly status: number;
}

const key = (deviceId: string, moduleId: string) => (moduleId === "" ? deviceId : `${deviceId}/${moduleId}`);

export class TwinService {
  private readonly hub: HubDouble;
  private readonly wss: WebSocketServer;
  private readonly sessions = new Map<string, Session>();
  /** Every reported patch received, applied or refused. */
  readonly reportedPatches: ReportedPatch[] = [];
  /** Every CONNECT accepted, by `device/module`. */
  readonly connects: string[] = [];
  /** Every CONNECT refused, by client id, with the reason. */
  readonly refusals: { clientId: string; reason: string }[] = [];
  /** Set to refuse new connections (the hub is unreachable). */
  refuse = false;

  constructor(hub: HubDouble) {
    this.hub = hub;
    this.wss = new WebSocketServer({
      server: hub.httpsServer,
      path: "/$iothub/websocket",
      handleProtocols: (protocols) => (protocols.has("mqtt") ? "mqtt" : false),
    });
    this.wss.on("connection", (socket) => {
      this.serve(socket);
    });
    hub.onDesired((deviceId, moduleId, notification) => {
      const version = String(notification["$version"]);
      this.publishTo(
        key(deviceId, moduleId),
        `$iothub/twin/PATCH/properties/desired/?$version=${version}`,
        notification,
      );
    });
  }

  /** Replaces a module twin's desired properties (the back end's "replace"); `deliver: false` loses the notification. */
  setDesired(deviceId: string, moduleId: string, desired: Record<string, unknown>, deliver = true): number {
    return this.hub.writeDesired(deviceId, moduleId, desired, { replace: true, notify: deliver });
  }

  /** A partial update of a module twin's desired properties; `deliver: false` loses the notification. */
  patchDesired(deviceId: string, moduleId: string, patch: Record<string, unknown>, deliver = true): number {
    return this.hub.writeDesired(deviceId, moduleId, patch, { replace: false, notify: deliver });
  }

  applyConfigurationContent(deviceId: string, modulesContent: Record<string, { "properties.desired": unknown }>): void {
    this.hub.applyConfigurationContent(deviceId, modulesContent);
  }

  reported(deviceId: string, moduleId: string): Record<string, unknown> {
    return this.hub.moduleOf(deviceId, moduleId).twin.reported;
  }

  get connected(): string[] {
    return [...this.sessions.keys()];
  }

  /** Drops every connection, as a hub failover or network cut would. */
  dropConnections(): void {
    for (const session of this.sessions.values()) this.end(session);
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => {
      this.wss.close(() => {
        resolve();
      });
    });
  }

  private end(session: Session): void {
    clearTimeout(session.expiry);
    const k = key(session.deviceId, session.moduleId);
    if (this.sessions.get(k) === session) this.sessions.delete(k);
    session.socket.terminate();
  }

  private twinOf(session: Session): TwinRecord {
    const device = this.hub.devices.get(session.deviceId);
    const twin = session.moduleId === "" ? device?.twin : device?.modules.get(session.moduleId)?.twin;
    if (!twin) throw new HttpError(404, "DeviceNotFound", `no identity ${key(session.deviceId, session.moduleId)}`);
    return twin;
  }

  private send(socket: WebSocket, packet: Record<string, unknown>): void {
    socket.send(mqtt.generate(packet as unknown as mqtt.Packet));
  }

  private publishTo(identity: string, topic: string, body: unknown): void {
    const session = this.sessions.get(identity);
    if (!session || ![...session.subscriptions].some((filter) => topicMatches(filter, topic))) return;
    const payload = body === undefined ? "" : JSON.stringify(body);
    this.send(session.socket, { cmd: "publish", topic, payload, qos: 0, retain: false, dup: false });
  }

  private serve(socket: WebSocket): void {
    const parser = mqtt.parser({ protocolVersion: 4 });
    let session: Session | undefined;
    parser.on("packet", (packet: mqtt.Packet) => {
      try {
        session = this.handle(socket, session, packet);
      } catch {
        socket.terminate();
      }
    });
    socket.on("message", (data: Buffer) => parser.parse(data));
    socket.on("close", () => {
      if (session) this.end(session);
    });
  }

  /** The identity a CONNECT proves, or why it is refused. */
  private authorizeConnect(
    packet: mqtt.IConnectPacket,
  ): { deviceId: string; moduleId: string; expiry: number } | string {
    const parts = packet.clientId.split("/");
    const [deviceId = "", moduleId = ""] = parts;
    if (deviceId === "" || parts.length > 2) return `client id ${packet.clientId} is not {device} or {device}/{module}`;
    const username = packet.username ?? "";
    if (!username.startsWith(`${this.hub.hostName}/${packet.clientId}/?`) || !username.includes("api-version="))
      return `username ${username} is not ${this.hub.hostName}/${packet.clientId}/?api-version=…`;
    let principal: Principal;
    try {
      principal = this.hub.authenticate(packet.password?.toString());
    } catch (error) {
      return (error as Error).message;
    }
    const resource = `${this.hub.hostName}/devices/${deviceId}${moduleId ? `/modules/${moduleId}` : ""}`;
    if (!covers(principal.scope, resource)) return `the token is scoped to ${principal.scope}`;
    const own =
      principal.kind !== "policy" &&
      principal.deviceId === deviceId &&
      (principal.kind === "module" ? principal.moduleId : "") === moduleId;
    if (principal.kind !== "policy" && !own) return `the token is not ${packet.clientId}'s`;
    const refusal = denied(principal, { right: "DeviceConnect" }, resource, {
      deviceId,
      moduleId: moduleId || undefined,
    });
    if (refusal) return refusal;
    const token = /[?&\s]se=(\d+)/.exec(packet.password?.toString() ?? "")?.[1];
    return { deviceId, moduleId, expiry: Number(token) * 1000 };
  }

  private handle(socket: WebSocket, session: Session | undefined, packet: mqtt.Packet): Session | undefined {
    switch (packet.cmd) {
      case "connect": {
        const allowed = this.refuse ? "the hub is unavailable" : this.authorizeConnect(packet);
        if (typeof allowed === "string") {
          this.refusals.push({ clientId: packet.clientId, reason: allowed });
          // 3: server unavailable; 5: not authorized (the SDK maps it to UnauthorizedError).
          this.send(socket, { cmd: "connack", returnCode: this.refuse ? 3 : 5, sessionPresent: false });
          socket.close();
          return undefined;
        }
        const identity = key(allowed.deviceId, allowed.moduleId);
        const older = this.sessions.get(identity);
        if (older) this.end(older);
        const expiry = setTimeout(
          () => {
            this.end(next);
          },
          Math.max(0, allowed.expiry - Date.now()),
        );
        expiry.unref();
        const next: Session = {
          deviceId: allowed.deviceId,
          moduleId: allowed.moduleId,
          socket,
          subscriptions: new Set(),
          expiry,
        };
        this.sessions.set(identity, next);
        this.connects.push(identity);
        this.send(socket, { cmd: "connack", returnCode: 0, sessionPresent: false });
        return next;
      }
      case "subscribe": {
        if (!session) return session;
        for (const s of packet.subscriptions) session.subscriptions.add(s.topic);
        const granted = packet.subscriptions.map((s) => Math.min(s.qos, 1));
        this.send(socket, { cmd: "suback", messageId: packet.messageId, granted });
        return session;
      }
      case "unsubscribe": {
        if (!session) return session;
        for (const topic of packet.unsubscriptions) session.subscriptions.delete(topic);
        this.send(socket, { cmd: "unsuback", messageId: packet.messageId });
        return session;
      }
      case "publish": {
        if (!session) return session;
        if (packet.qos > 0) this.send(socket, { cmd: "puback", messageId: packet.messageId });
        this.twinRequest(session, packet.topic, packet.payload.toString());
        return session;
      }
      case "pingreq":
        this.send(socket, { cmd: "pingresp" });
        return session;
      case "disconnect":
        socket.close();
        return session;
      default:
        return session;
    }
  }

  private twinRequest(session: Session, topic: string, payload: string): void {
    const rid = /\$rid=([^&]+)/.exec(topic)?.[1] ?? "";
    const identity = key(session.deviceId, session.moduleId);
    const respond = (status: number, body: unknown, extra = "") => {
      this.publishTo(identity, `$iothub/twin/res/${String(status)}/?$rid=${rid}${extra}`, body);
    };
    const fail = (status: number, code: number, message: string) => {
      respond(status, { errorCode: code, trackingId: randomUUID(), message, timestampUtc: new Date().toISOString() });
    };
    const twin = this.twinOf(session);
    if (topic.startsWith("$iothub/twin/GET/")) {
      respond(200, { desired: twin.desired, reported: twin.reported });
      return;
    }
    if (!topic.startsWith("$iothub/twin/PATCH/properties/reported/")) return;
    let patch: unknown;
    try {
      patch = JSON.parse(payload);
    } catch {
      patch = undefined;
    }
    if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
      this.reportedPatches.push({ deviceId: session.deviceId, moduleId: session.moduleId, patch: {}, status: 400 });
      fail(400, 400004, "Malformed JSON: reported properties must be a JSON object");
      return;
    }
    const record = patch as Record<string, unknown>;
    const next = applyPatch(twin.reported, record);
    const problems = [
      ...sectionProblems("reported", next),
      ...Object.keys(record)
        .filter((k) => k.startsWith("$"))
        .map((k) => `${k}: '$' keys are read-only`),
    ];
    this.reportedPatches.push({
      deviceId: session.deviceId,
      moduleId: session.moduleId,
      patch: record,
      status: problems.length > 0 ? 400 : 204,
    });
    if (problems.length > 0) {
      fail(400, 400004, problems.join("; "));
      return;
    }
    const version = twin.reported.$version + 1;
    twin.reported = { ...next, $version: version };
    twin.etag = newEtag();
    respond(204, undefined, `&$version=${String(version)}`);
  }
}

/** MQTT topic filter matching with `#` and `+`. */
function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
