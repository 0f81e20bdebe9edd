// The hub double's device-facing side: MQTT 3.1.1 over WebSockets (`wss://<hub>/$iothub/websocket`,
// what the device SDKs' MqttWs transport speaks) with IoT Hub's documented twin topics:
//   GET      $iothub/twin/GET/?$rid={rid}                      → $iothub/twin/res/200/?$rid={rid}
//   reported $iothub/twin/PATCH/properties/reported/?$rid={rid} → $iothub/twin/res/204/?$rid={rid}&$version={v}
//   desired  $iothub/twin/PATCH/properties/desired/?$version={v} (hub → device)
// Clients authenticate as `{deviceId}/{moduleId}` with a SAS token signed by that identity's key.
import mqtt from "mqtt-packet";
import { WebSocketServer, type WebSocket } from "ws";
import { type DeviceRecord, type HubDouble, type TwinProperties } from "./hubDouble.ts";
import { diffPatch, mergePatch } from "../../src/hub/twin.ts";
import { parseSas } from "./sas.ts";

interface Session {
  readonly deviceId: string;
  readonly moduleId: string;
  readonly socket: WebSocket;
  readonly subscriptions: Set<string>;
}

export interface ReportedPatch {
  readonly deviceId: string;
  readonly moduleId: string;
  readonly patch: Record<string, unknown>;
}

function twinKey(deviceId: string, moduleId: string): string {
  return `${deviceId}/${moduleId}`;
}

export class TwinService {
  private readonly hub: HubDouble;
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  readonly reportedPatches: ReportedPatch[] = [];
  /** Every CONNECT accepted, by `device/module`. */
  readonly connects: string[] = [];
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
  }

  twin(device: DeviceRecord, moduleId: string): TwinProperties {
    let twin = device.moduleTwins.get(moduleId);
    if (!twin) {
      twin = { desired: { $version: 1 }, reported: { $version: 1 } };
      device.moduleTwins.set(moduleId, twin);
    }
    return twin;
  }

  private deviceOf(deviceId: string): DeviceRecord {
    const device = this.hub.devices.get(deviceId);
    if (!device) throw new Error(`no device ${deviceId} in the hub double`);
    return device;
  }

  /** What `applyConfigurationContentOnDevice` does: replaces each module twin's desired properties. */
  applyConfigurationContent(deviceId: string, modulesContent: Record<string, { "properties.desired": unknown }>): void {
    for (const [moduleId, content] of Object.entries(modulesContent)) {
      this.setDesired(deviceId, moduleId, content["properties.desired"] as Record<string, unknown>);
    }
  }

  /** Replaces a module twin's desired properties and notifies the module with a patch. */
  setDesired(deviceId: string, moduleId: string, desired: Record<string, unknown>, deliver = true): number {
    const twin = this.twin(this.deviceOf(deviceId), moduleId);
    const current: Record<string, unknown> = { ...twin.desired };
    Reflect.deleteProperty(current, "$version");
    return this.patchDesired(deviceId, moduleId, diffPatch(current, desired), deliver);
  }

  /** Merges a patch into the desired properties; `deliver: false` loses the notification (a gap). */
  patchDesired(deviceId: string, moduleId: string, patch: Record<string, unknown>, deliver = true): number {
    const twin = this.twin(this.deviceOf(deviceId), moduleId);
    const version = twin.desired.$version + 1;
    twin.desired = { ...mergePatch(twin.desired, patch), $version: version };
    if (deliver) {
      this.publishTo(deviceId, moduleId, `$iothub/twin/PATCH/properties/desired/?$version=${String(version)}`, {
        ...patch,
        $version: version,
      });
    }
    return version;
  }

  reported(deviceId: string, moduleId: string): Record<string, unknown> {
    return this.twin(this.deviceOf(deviceId), moduleId).reported;
  }

  get connected(): string[] {
    return [...this.sessions].map((s) => twinKey(s.deviceId, s.moduleId));
  }

  /** Drops every connection, as a hub failover or network cut would. */
  dropConnections(): void {
    for (const session of this.sessions) session.socket.terminate();
    this.sessions.clear();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => {
      this.wss.close(() => {
        resolve();
      });
    });
  }

  private send(socket: WebSocket, packet: Record<string, unknown>): void {
    socket.send(mqtt.generate(packet as unknown as mqtt.Packet));
  }

  private publishTo(deviceId: string, moduleId: string, topic: string, body: unknown): void {
    for (const session of this.sessions) {
      if (session.deviceId !== deviceId || session.moduleId !== moduleId) continue;
      const subscribed = [...session.subscriptions].some((filter) => topicMatches(filter, topic));
      const payload = body === undefined ? "" : JSON.stringify(body);
      if (subscribed) this.send(session.socket, { cmd: "publish", topic, payload, qos: 0, retain: false, dup: false });
    }
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
      if (session) this.sessions.delete(session);
    });
  }

  private handle(socket: WebSocket, session: Session | undefined, packet: mqtt.Packet): Session | undefined {
    switch (packet.cmd) {
      case "connect": {
        const [deviceId = "", moduleId = ""] = packet.clientId.split("/");
        const principal = this.tryAuthenticate(packet.password?.toString());
        if (this.refuse) {
          // 3: server unavailable, what a client sees while the hub is down.
          this.send(socket, { cmd: "connack", returnCode: 3, sessionPresent: false });
          socket.close();
          return undefined;
        }
        if (principal !== `module:${deviceId}/${moduleId}` && principal !== `device:${deviceId}`) {
          this.send(socket, { cmd: "connack", returnCode: 5, sessionPresent: false });
          socket.close();
          return undefined;
        }
        const next: Session = { deviceId, moduleId, socket, subscriptions: new Set() };
        this.sessions.add(next);
        this.connects.push(twinKey(deviceId, moduleId));
        this.send(socket, { cmd: "connack", returnCode: 0, sessionPresent: false });
        return next;
      }
      case "subscribe": {
        if (!session) return session;
        for (const s of packet.subscriptions) session.subscriptions.add(s.topic);
        this.send(socket, {
          cmd: "suback",
          messageId: packet.messageId,
          granted: packet.subscriptions.map((s) => Math.min(s.qos, 1)),
        });
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

  private tryAuthenticate(password: string | undefined): string | undefined {
    try {
      return this.hub.authenticate(parseSas(password));
    } catch {
      return undefined;
    }
  }

  private twinRequest(session: Session, topic: string, payload: string): void {
    const rid = /\$rid=([^&]+)/.exec(topic)?.[1] ?? "";
    const twin = this.twin(this.deviceOf(session.deviceId), session.moduleId);
    const respond = (status: number, body: unknown, extra = "") => {
      this.publishTo(
        session.deviceId,
        session.moduleId,
        `$iothub/twin/res/${String(status)}/?$rid=${rid}${extra}`,
        body,
      );
    };
    if (topic.startsWith("$iothub/twin/GET/")) {
      respond(200, { desired: twin.desired, reported: twin.reported });
    } else if (topic.startsWith("$iothub/twin/PATCH/properties/reported/")) {
      let patch: Record<string, unknown>;
      try {
        patch = JSON.parse(payload) as Record<string, unknown>;
      } catch {
        respond(400, { message: "reported properties must be JSON" });
        return;
      }
      const version = twin.reported.$version + 1;
      twin.reported = { ...mergePatch(twin.reported, patch), $version: version };
      this.reportedPatches.push({ deviceId: session.deviceId, moduleId: session.moduleId, patch });
      respond(204, undefined, `&$version=${String(version)}`);
    }
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
