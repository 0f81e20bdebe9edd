// A bare MQTT-over-WebSockets client for testing the hub double's CONNECT rules by hand (the SDKs
// always send well-formed credentials). Test code only.
import mqtt from "mqtt-packet";
import WebSocket from "ws";
import type { HubDouble } from "./hubDouble.ts";

export interface RawSession {
  /** The CONNACK return code (0 accepted, 5 not authorized, 3 unavailable). */
  readonly returnCode: number;
  /** Resolves when the hub closes the connection. */
  readonly closed: Promise<void>;
  close(): void;
}

export async function rawConnect(
  hub: HubDouble,
  connect: { clientId: string; username: string; password: string },
): Promise<RawSession> {
  const socket = new WebSocket(`wss://${hub.hostName}/$iothub/websocket`, "mqtt", { agent: hub.agent() });
  const closed = new Promise<void>((resolve) =>
    socket.on("close", () => {
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.on("open", () => {
      resolve();
    });
    socket.on("error", reject);
  });
  const parser = mqtt.parser({ protocolVersion: 4 });
  const connack = new Promise<number>((resolve) => {
    parser.on("packet", (packet: mqtt.Packet) => {
      if (packet.cmd === "connack") resolve(packet.returnCode ?? -1);
    });
  });
  socket.on("message", (data: Buffer) => parser.parse(data));
  socket.send(
    mqtt.generate({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clean: false,
      keepalive: 180,
      clientId: connect.clientId,
      username: connect.username,
      password: Buffer.from(connect.password),
    }),
  );
  return {
    returnCode: await connack,
    closed,
    close: () => {
      socket.terminate();
    },
  };
}
