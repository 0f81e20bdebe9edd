import type { ContainerPort, Protocol } from "./model.ts";

const PROTOCOLS: Record<string, Protocol> = { tcp: "TCP", udp: "UDP", sctp: "SCTP" };

export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** Parses Docker's `"8883/tcp"` (protocol defaults to tcp) into a port and protocol, or explains why not. */
export function parsePortKey(key: string): ContainerPort | string {
  const match = /^(\d+)(?:\/([a-zA-Z]+))?$/.exec(key.trim());
  if (!match) return `"${key}" is not a port: expected "<port>/<tcp|udp|sctp>"`;
  const port = Number(match[1]);
  const protocol = PROTOCOLS[(match[2] ?? "tcp").toLowerCase()];
  if (!protocol) return `"${key}" has an unknown protocol: expected tcp, udp or sctp`;
  if (!isValidPort(port)) return `port ${port} is out of range 1-65535`;
  return { port, protocol };
}

/** Docker's HostPort: a string or number; empty means "any", which a Service serves on the container port. */
export function parseHostPort(hostPort: string | number | undefined, containerPort: number): number | string {
  if (hostPort === undefined || hostPort === "") return containerPort;
  const port = typeof hostPort === "number" ? hostPort : /^\d+$/.test(hostPort.trim()) ? Number(hostPort) : NaN;
  if (Number.isNaN(port)) return `HostPort "${String(hostPort)}" is not a number (port ranges are not supported)`;
  if (!isValidPort(port)) return `HostPort ${port} is out of range 1-65535`;
  return port;
}

export function portKey(port: ContainerPort): string {
  return `${port.port}/${port.protocol.toLowerCase()}`;
}
