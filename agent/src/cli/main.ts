import { agentCommand, agentHelp } from "./agent.ts";
import { renderCommand, renderHelp } from "./render.ts";
import { rolloutCommand, rolloutHelp } from "./rollout.ts";
import { InputError, UsageError } from "./usage.ts";
import { type Io, validateCommand, validateHelp } from "./validate.ts";

export const mainHelp = `edgek8s — IoT Edge workloads on Kubernetes

Usage: edgek8s <command> [options]

Commands:
  render FILE --device ID --hub HOSTNAME   print the Kubernetes objects for a device's manifest
  validate FILE                            check a deployment manifest; one line per problem
  agent --namespace NS | --all-namespaces  run the Edge Agent (the operator) against a cluster
  rollout TRACK --stack NAME               roll a track's new release out to its devices, ring by ring
  help [COMMAND]                           show help for a command

Run "edgek8s <command> --help" for a command's options.
Exit codes: 0 success, 1 invalid input (the problems are printed), 2 usage error
(rollout has its own: see "edgek8s rollout --help").`;

const commands: Record<string, { run: (args: readonly string[], io: Io) => Promise<number>; help: string }> = {
  render: { run: renderCommand, help: renderHelp },
  validate: { run: validateCommand, help: validateHelp },
  agent: { run: agentCommand, help: agentHelp },
  rollout: { run: rolloutCommand, help: rolloutHelp },
};

const stdio: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** Runs the CLI and returns its exit code; every expected failure is one readable message, never a stack. */
export async function run(argv: readonly string[], io: Io = stdio): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === "-h" || name === "--help") {
      io.out(mainHelp);
      return name === undefined ? 2 : 0;
    }
    if (name === "help") {
      const topic = rest[0];
      io.out(topic !== undefined && commands[topic] ? commands[topic].help : mainHelp);
      return 0;
    }
    const command = commands[name];
    if (!command) throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(commands).join(", ")})`);
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`edgek8s: ${error.message}`);
      return 2;
    }
    if (error instanceof InputError) {
      for (const line of error.lines) io.out(line);
      return 1;
    }
    throw error;
  }
}
