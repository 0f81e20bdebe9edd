/** Structured JSON logs, one line per meaningful event, stable keys (namespace, device, module, kind, name). */
export type Level = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  with(fields: Fields): Logger;
}

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function jsonLogger(
  write: (line: string) => void,
  minimum: Level = "info",
  base: Fields = {},
  now: () => Date = () => new Date(),
): Logger {
  const emit = (level: Level, message: string, fields: Fields = {}) => {
    if (ORDER[level] < ORDER[minimum]) return;
    write(JSON.stringify({ time: now().toISOString(), level, msg: message, ...base, ...fields }));
  };
  return {
    debug: (m, f) => {
      emit("debug", m, f);
    },
    info: (m, f) => {
      emit("info", m, f);
    },
    warn: (m, f) => {
      emit("warn", m, f);
    },
    error: (m, f) => {
      emit("error", m, f);
    },
    with: (fields) => jsonLogger(write, minimum, { ...base, ...fields }, now),
  };
}

export const silentLogger: Logger = jsonLogger(() => undefined, "error");
