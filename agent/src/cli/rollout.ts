import { appendFileSync, existsSync } from "node:fs";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { UsageError, parseCommandArgs, positiveInt, requireOne, requireString } from "./usage.ts";
import type { Io } from "./validate.ts";
import { type Clock, Stop, driveRollout } from "../rollout/driver.ts";
import { LabelError, ROLLOUT_LABEL, reasonCode } from "../rollout/labels.ts";
import { type RolloutEvent, humanLines, markdownSummary, ringTable } from "../rollout/output.ts";
import { ringConditions } from "../rollout/plan.ts";
import { type ReleaseRecord, type TrackReleases, isActive, stateOf, trackReleases } from "../rollout/releases.ts";
import { type SelectedStack, StackError, type StackFacts, firstLine, selectStack } from "../rollout/stack.ts";
import { EXIT, type Command, ringTally } from "../rollout/stateMachine.ts";
import { type ReleaseStore, StoreError } from "../rollout/store.ts";
import { openStore } from "../rollout/openStore.ts";

export const rolloutHelp = `Usage: edgek8s rollout TRACK --stack NAME [options]

Moves a track's staged release out to its devices ring by ring (the stack's edgek8s:rollout plan):
each ring is targeted, verified on the devices' own reports (the new desired version acted on, code
200, every module running as desired for that version) and baked; failures past the gates abort and
roll back by re-targeting the stable release, verified the same way. The state lives on the release
itself, so any later run (another CI job) resumes where the last one stopped.

Options:
  --stack NAME              the Pulumi stack (one per environment); read with the Automation API
  --cwd DIR                 the Pulumi project directory (default: the current directory)
  --start                   first run pulumi up (creates the staged release), then start the rollout
  --until RING              stop with exit 0 once this ring has baked (the next job uses --resume)
  --resume                  continue past a manual gate or an --until stop
  --abort                   roll the release in flight back to the stable release now
  --retry                   start a rolled-back or halted release again from the first ring
  --undo                    roll a completed release back to the one it superseded
  --status                  print the track's releases and the current ring's numbers; change nothing
  --dry-run                 print each ring's exact target condition and how many devices it selects now
  --json                    one JSON event per line instead of text
  --hub-connection-string-env VAR
                            environment variable holding the IoT Hub connection string (default
                            EDGEK8S_HUB_CONNECTION_STRING; a policy with ServiceConnect and registry
                            rights). It is never printed.
  --kubeconfig PATH         local stacks: the cluster's kubeconfig (default: the stack's)
  --twin-read-limit N       IoT Hub: rings up to N devices are read twin by twin, larger ones counted
                            with queries (default 50)
  -h, --help                show this help

With GITHUB_STEP_SUMMARY set, a Markdown summary per ring is appended to it.
Exit codes: 0 done (or --until reached, or nothing to do), 2 paused at a manual gate, 3 aborted and
rollback verified, 4 halted, 5 rollback failed or not verified, 6 preflight failed (stack, ring
conditions, the hub's limits, another driver holds the rollout), 64 usage error.`;

export interface RolloutDeps {
  readonly selectStack: (name: string, dir: string) => Promise<SelectedStack>;
  readonly openStore: typeof openStore;
  readonly clock: Clock;
  readonly env: NodeJS.ProcessEnv;
}

const defaultDeps: RolloutDeps = {
  selectStack,
  openStore,
  clock: { now: () => new Date(), sleep: (ms) => sleep(ms) },
  env: process.env,
};

const MODES = ["start", "resume", "abort", "retry", "undo", "status", "dry-run"] as const;

/** A name for this driver in the lease label: the CI run and job when there is one. */
function holderName(env: NodeJS.ProcessEnv): string {
  const ci = env["GITHUB_RUN_ID"]
    ? `gh-${env["GITHUB_RUN_ID"]}-${env["GITHUB_RUN_ATTEMPT"] ?? "1"}-${env["GITHUB_JOB"] ?? "job"}`
    : `${hostname()}-${process.pid}`;
  return reasonCode(ci).slice(0, 100);
}

export async function rolloutCommand(
  args: readonly string[],
  io: Io,
  deps: RolloutDeps = defaultDeps,
): Promise<number> {
  try {
    return await rollout(args, io, deps);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`edgek8s rollout: ${error.message} (see --help)`);
      return EXIT.usage;
    }
    throw error;
  }
}

async function rollout(args: readonly string[], io: Io, deps: RolloutDeps): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    stack: { type: "string" },
    cwd: { type: "string" },
    until: { type: "string" },
    json: { type: "boolean" },
    "hub-connection-string-env": { type: "string" },
    kubeconfig: { type: "string" },
    "twin-read-limit": { type: "string" },
    start: { type: "boolean" },
    resume: { type: "boolean" },
    abort: { type: "boolean" },
    retry: { type: "boolean" },
    undo: { type: "boolean" },
    status: { type: "boolean" },
    "dry-run": { type: "boolean" },
  });
  if (values.help) {
    io.out(rolloutHelp);
    return 0;
  }
  const track = requireOne(positionals, "TRACK (a track of the stack's edgek8s:tracks)");
  const stackName = requireString(values.stack, "stack");
  const cwd = values.cwd ?? process.cwd();
  if (!existsSync(cwd)) throw new UsageError(`--cwd ${cwd}: no such directory`);
  const modes = MODES.filter((m) => values[m] === true);
  if (modes.length > 1) throw new UsageError(`--${modes[0]!} and --${modes[1]!} cannot be used together`);
  const mode = modes[0];
  const until = values.until;
  if (until !== undefined && mode !== undefined && !["start", "resume", "retry"].includes(mode))
    throw new UsageError(`--until cannot be used with --${mode}`);
  const twinReadLimit = positiveInt(values["twin-read-limit"], "twin-read-limit");
  const connectionVar = values["hub-connection-string-env"] ?? "EDGEK8S_HUB_CONNECTION_STRING";
  const secrets = [deps.env[connectionVar]].filter((s): s is string => s !== undefined && s !== "");
  const redact = (text: string) =>
    secrets
      .reduce((t, s) => t.split(s).join("<redacted>"), text)
      .replace(/SharedAccessKey=[^;"\s]+/g, "SharedAccessKey=<redacted>");
  const out = (text: string) => {
    io.out(redact(text));
  };
  const json = values.json === true;
  const emit = (event: RolloutEvent) => {
    if (json) out(JSON.stringify(event));
    else for (const line of humanLines(event)) out(line);
  };
  const fail = (exit: number, message: string) => {
    emit({ type: "error", time: deps.clock.now().toISOString(), message, exit });
    return exit;
  };

  let selected: SelectedStack;
  try {
    selected = await deps.selectStack(stackName, cwd);
  } catch (error) {
    if (error instanceof StackError) return fail(EXIT.preflight, error.message);
    throw error;
  }
  const { facts } = selected;
  const trackConfig = facts.tracks[track];
  if (!trackConfig) {
    const known = Object.keys(facts.tracks);
    throw new UsageError(
      `track "${track}" is not in edgek8s:tracks of stack ${stackName} (${known.length > 0 ? `tracks: ${known.join(", ")}` : "it has none"})`,
    );
  }
  const ringNames = facts.plan.rings.map((r) => r.name);
  const untilRing = until === undefined ? undefined : ringNames.indexOf(until);
  if (untilRing === -1) throw new UsageError(`--until ${until ?? ""}: no such ring (rings: ${ringNames.join(", ")})`);

  if (mode === "start") {
    emit({ type: "info", time: deps.clock.now().toISOString(), message: `pulumi up --stack ${stackName}` });
    try {
      await selected.up(`edgek8s rollout ${track}`, (line) => {
        if (json) out(JSON.stringify({ type: "pulumi", line }));
        else io.err(redact(line));
      });
    } catch (error) {
      return fail(EXIT.preflight, `pulumi up failed: ${firstLine(error)}`);
    }
  }

  let store: ReleaseStore;
  try {
    store = await deps.openStore(facts, {
      connectionString: deps.env[connectionVar],
      connectionVar,
      kubeconfig: values.kubeconfig,
      twinReadLimit,
      sleep: (ms) => deps.clock.sleep(ms),
    });
  } catch (error) {
    if (error instanceof StoreError) return fail(EXIT.preflight, error.message);
    throw error;
  }
  const started = deps.clock.now().getTime();
  try {
    const releases = trackReleases(await store.list(), track, facts.stackId);
    const trackTarget = releases.stable?.targetCondition ?? trackConfig.target;
    const conditions = ringConditions(trackTarget, facts.plan.rings);
    if (mode === "dry-run") return await dryRun(store, facts, conditions, emit, deps);
    if (mode === "status") return await status(releases, facts, conditions, emit, deps.clock.now(), track, store);
    const problems = await store.preflight(conditions);
    if (problems.length > 0) return fail(EXIT.preflight, `preflight: ${problems.join("; ")}`);
    const command: Command | "undo" =
      mode === "resume" || mode === "abort" || mode === "retry" || mode === "undo" ? mode : "run";
    const result = await driveRollout({
      store,
      track,
      stackId: facts.stackId,
      plan: facts.plan,
      layer: trackConfig.layer,
      command,
      ...(untilRing !== undefined ? { untilRing } : {}),
      ...(facts.hub.mode === "azure" ? { stagedTarget: facts.hub.stagedTarget } : {}),
      holder: holderName(deps.env),
      clock: deps.clock,
      emit,
    });
    const summary: Extract<RolloutEvent, { type: "summary" }> = {
      type: "summary",
      time: deps.clock.now().toISOString(),
      track,
      release: result.release,
      stable: result.stable,
      state: result.state,
      exit: result.exit,
      rings: result.rings,
      usage: store.usage(),
      elapsedSeconds: (deps.clock.now().getTime() - started) / 1000,
    };
    emit(summary);
    const summaryFile = deps.env["GITHUB_STEP_SUMMARY"];
    if (summaryFile) appendFileSync(summaryFile, redact(markdownSummary(summary)));
    return result.exit;
  } catch (error) {
    if (error instanceof StoreError || error instanceof LabelError || error instanceof Stop)
      return fail(EXIT.preflight, error.message);
    return fail(
      EXIT.halted,
      `stopped by an error, the rollout's state is as its labels say: ${(error as Error).message}`,
    );
  } finally {
    store.close();
  }
}

async function dryRun(
  store: ReleaseStore,
  facts: StackFacts,
  conditions: readonly string[],
  emit: (e: RolloutEvent) => void,
  deps: RolloutDeps,
): Promise<number> {
  const time = () => deps.clock.now().toISOString();
  const problems = await store.preflight(conditions);
  for (const [i, ring] of facts.plan.rings.entries()) {
    const count = await store.count(conditions[i]!);
    emit({ type: "info", time: time(), message: `ring ${ring.name}: ${count} devices: ${conditions[i]!}` });
  }
  if (problems.length > 0) {
    emit({ type: "error", time: time(), message: `preflight: ${problems.join("; ")}`, exit: EXIT.preflight });
    return EXIT.preflight;
  }
  return EXIT.done;
}

function describe(release: ReleaseRecord | undefined, what: string): string {
  if (release === undefined) return `${what}: none`;
  const l = release.labels;
  const ring = l[ROLLOUT_LABEL.ring] ? ` at ring ${l[ROLLOUT_LABEL.ring]}` : "";
  const reason = l[ROLLOUT_LABEL.reason] ? ` (${l[ROLLOUT_LABEL.reason]})` : "";
  return `${what}: ${release.id} ${stateOf(release)}${ring}${reason} since ${l[ROLLOUT_LABEL.since] ?? "its creation"}`;
}

/** `--status`: the track's releases, and the numbers of the ring a rollout in flight is at. */
async function status(
  releases: TrackReleases,
  facts: StackFacts,
  conditions: readonly string[],
  emit: (e: RolloutEvent) => void,
  now: Date,
  track: string,
  store: ReleaseStore,
): Promise<number> {
  const time = now.toISOString();
  emit({ type: "info", time, message: `${track} on ${store.where} (stack ${facts.stackId})` });
  emit({ type: "info", time, message: describe(releases.stable, "stable") });
  emit({ type: "info", time, message: describe(releases.candidate, "candidate") });
  const { candidate, stable } = releases;
  if (!candidate || !stable || !isActive(stateOf(candidate))) return EXIT.done;
  const ringName = candidate.labels[ROLLOUT_LABEL.ring] ?? facts.plan.rings[0]!.name;
  const ring = Math.max(
    0,
    facts.plan.rings.findIndex((r) => r.name === ringName),
  );
  const judged = stateOf(candidate) === "Aborting" ? stable.id : candidate.id;
  const obs = await store.observe({
    now,
    condition: conditions[ring]!,
    trackCondition: stable.targetCondition,
    judged,
    candidate: candidate.id,
    reports: true,
    gates: facts.plan.gates,
  });
  const t = ringTally(obs, judged, facts.plan.gates);
  for (const line of ringTable([{ ring: ringName, applied: obs.applied, tally: t }]))
    emit({ type: "info", time, message: line });
  return EXIT.done;
}
