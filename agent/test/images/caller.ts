// Calls another module by its module id (TARGET="moduleId:port") every second and logs the result.
import { logEvent } from "./log.ts";

const target = process.env["TARGET"] ?? "echo:8081";

async function call(): Promise<void> {
  try {
    const response = await fetch(`http://${target}/from-caller`, { signal: AbortSignal.timeout(2000) });
    logEvent("call", { target, ok: response.ok, status: response.status, body: await response.text() });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    logEvent("call", { target, ok: false, error: cause?.code ?? (error as Error).message });
  }
}

setInterval(() => void call(), 1000);
void call();
