import { readFileSync } from "node:fs";

/** The Node flags the agent image runs the bundle with: its Dockerfile's ENTRYPOINT, less node and the script. */
export function imageNodeFlags(): string[] {
  const dockerfile = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8");
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  if (entrypoint === undefined) throw new Error("agent/Dockerfile has no ENTRYPOINT [...] line");
  return (JSON.parse(entrypoint) as string[]).filter((arg) => arg.startsWith("--"));
}
