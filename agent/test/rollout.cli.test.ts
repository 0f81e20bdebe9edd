import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type RolloutDeps, rolloutCommand } from "../src/cli/rollout.ts";
import { run } from "../src/cli/main.ts";
import { stackFacts } from "../src/rollout/stack.ts";
import { EXIT } from "../src/rollout/stateMachine.ts";
import { StoreError } from "../src/rollout/store.ts";
import { FleetStore, device } from "./rollout/fleetStore.ts";

const SECRET = "HostName=plant.azure-devices.net;SharedAccessKeyName=edgek8s-rollout;SharedAccessKey=c2VjcmV0LWtleQ==";

const config = {
  "edgek8s:hub": JSON.stringify({ mode: "none" }),
  "edgek8s:clusters": JSON.stringify({ local: { kubeconfig: ".state/cluster/kubeconfig" } }),
  "edgek8s:tracks": JSON.stringify({
    factory: { manifest: "deployments/quickstart.json", target: "tags.site = 'west'" },
  }),
  "edgek8s:rollout": JSON.stringify({
    rings: [
      { name: "canary", select: "tags.ring = 'canary'", bake: "20s" },
      { name: "all", percent: 100, bake: "0" },
    ],
    gates: { applyTimeout: "60s", reportTimeout: "60s", readyGrace: "30s", minExecuted: 1 },
    pollInterval: "5s",
  }),
};

function harness(
  over: { openStore?: RolloutDeps["openStore"]; env?: NodeJS.ProcessEnv; up?: () => Promise<void> } = {},
) {
  let t = Date.parse("2026-11-30T10:00:00Z");
  const clock = {
    now: () => new Date(t),
    sleep: (ms: number) => {
      t += ms;
      return Promise.resolve();
    },
  };
  const store = new FleetStore(clock.now);
  store.devices.push(device("canary-1", { site: "west", ring: "canary" }), device("gw-1", { site: "west" }));
  store.addRelease("ek8s-factory-aaaaaaaaaaaa", 1, "tags.site = 'west'", { "edgek8s.state": "Stable" });
  store.addRelease("ek8s-factory-bbbbbbbbbbbb", 2, "", { "edgek8s.state": "Staged" });
  const lines: string[] = [];
  const errors: string[] = [];
  const deps: RolloutDeps = {
    selectStack: () =>
      Promise.resolve({
        facts: stackFacts("edgek8s", "local", config, "/project"),
        up: over.up ?? (() => Promise.resolve()),
      }),
    openStore: over.openStore ?? (() => Promise.resolve(store)),
    clock,
    env: over.env ?? {},
  };
  const io = { out: (l: string) => lines.push(l), err: (l: string) => errors.push(l) };
  const runWith = (...args: string[]) => rolloutCommand(args, io, deps);
  return { store, lines, errors, runWith };
}

describe("edgek8s rollout: the command", () => {
  it("usage errors exit 64 and name the flag", async () => {
    const cases: [string[], RegExp][] = [
      [["factory"], /--stack/],
      [["--stack", "local"], /TRACK/],
      [["factory", "--stack", "local", "--abort", "--undo"], /--abort and --undo/],
      [["factory", "--stack", "local", "--until", "nope"], /--until nope: no such ring \(rings: canary, all\)/],
      [["factory", "--stack", "local", "--abort", "--until", "all"], /--until cannot be used with --abort/],
      [["factory", "--stack", "local", "--twin-read-limit", "0"], /--twin-read-limit/],
      [
        ["factory", "--stack", "local", "--twin-read-limit", "1.5"],
        /--twin-read-limit must be a positive whole number, got "1\.5"/,
      ],
      [["factory", "--stack", "local", "--bogus"], /bogus/],
      [["vision", "--stack", "local"], /track "vision" is not in edgek8s:tracks of stack local \(tracks: factory\)/],
    ];
    for (const [args, message] of cases) {
      const h = harness();
      assert.equal(await h.runWith(...args), EXIT.usage, args.join(" "));
      assert.match(h.errors.join("\n"), message);
    }
  });

  it("--help explains the flags and the exit codes; the main help lists the command", async () => {
    const h = harness();
    assert.equal(await h.runWith("--help"), 0);
    assert.match(h.lines.join("\n"), /--until RING[\s\S]*Exit codes: 0 done[\s\S]*64 usage error/);
    const out: string[] = [];
    await run(["--help"], { out: (l) => out.push(l), err: () => undefined });
    assert.match(out.join("\n"), /rollout TRACK --stack NAME/);
  });

  it("--dry-run prints each ring's exact condition and device count, and writes nothing", async () => {
    const h = harness();
    assert.equal(await h.runWith("factory", "--stack", "local", "--dry-run"), EXIT.done);
    assert.deepEqual(
      h.lines.map((l) => l.slice(9)),
      [
        "ring canary: 1 devices: (tags.site = 'west') AND ((tags.ring = 'canary'))",
        "ring all: 2 devices: tags.site = 'west'",
      ],
    );
    assert.equal(h.store.writes.length, 0);
  });

  it("a run prints one line per transition and a ring table, and writes the step summary", async () => {
    const summary = join(mkdtempSync(join(tmpdir(), "edgek8s-summary-")), "summary.md");
    const h = harness({ env: { GITHUB_STEP_SUMMARY: summary } });
    assert.equal(await h.runWith("factory", "--stack", "local"), EXIT.done);
    const text = h.lines.join("\n");
    assert.match(text, /ek8s-factory-bbbbbbbbbbbb: Applying — ring canary: targeting/);
    assert.match(text, /ring\s+expected\s+applied\s+succeeded\s+failed\s+unreachable\s+pending/);
    assert.match(text, /canary\s+1\s+1\s+1\s+0\s+0\s+0/);
    const markdown = readFileSync(summary, "utf8");
    assert.match(markdown, /### edgek8s rollout `factory`: Complete \(exit 0\)/);
    assert.match(markdown, /\| all \| 2 \| 2 \| 2 \| 0 \| 0 \| 0 \|/);
  });

  it("--json prints one JSON event per line, ending with the summary", async () => {
    const h = harness();
    assert.equal(await h.runWith("factory", "--stack", "local", "--json"), EXIT.done);
    const events = h.lines.map((l) => JSON.parse(l) as { type: string; state?: string; exit?: number });
    assert.ok(events.some((e) => e.type === "transition" && e.state === "Verifying"));
    assert.deepEqual(events.at(-1)?.type, "summary");
    assert.equal(events.at(-1)?.exit, 0);
  });

  it("--status reads and prints, and changes nothing", async () => {
    const h = harness();
    assert.equal(await h.runWith("factory", "--stack", "local", "--status"), EXIT.done);
    assert.match(
      h.lines.join("\n"),
      /stable: ek8s-factory-aaaaaaaaaaaa Stable[\s\S]*candidate: ek8s-factory-bbbbbbbbbbbb Staged/,
    );
    assert.equal(h.store.writes.length, 0);
  });

  it("--status of a rollout in flight prints its ring's numbers, judged as the driver judges them", async () => {
    const h = harness();
    assert.equal(await h.runWith("factory", "--stack", "local", "--until", "canary"), EXIT.done);
    const writes = h.store.writes.length;
    h.lines.length = 0;
    assert.equal(await h.runWith("factory", "--stack", "local", "--status"), EXIT.done);
    const text = h.lines.join("\n");
    assert.match(text, /candidate: ek8s-factory-bbbbbbbbbbbb Paused at ring canary \(Until\)/);
    assert.match(text, /ring\s+expected\s+applied\s+succeeded\s+failed\s+unreachable\s+pending/);
    assert.match(text, /canary\s+1\s+1\s+1\s+0\s+0\s+0/);
    assert.equal(h.store.writes.length, writes, "and writes nothing");
  });

  it("--start: a failed pulumi up exits 6 with Pulumi's error line, not the CommandError's exit code", async () => {
    // The shape of the Automation API's CommandError message (@pulumi/pulumi automation/cmd.ts CommandResult).
    const failure = new Error(
      "code: 255\n stdout: Updating (local)\n\n stderr: error: the stack is locked by another update\n err?: \n",
    );
    const h = harness({ up: () => Promise.reject(failure) });
    assert.equal(await h.runWith("factory", "--stack", "local", "--start"), EXIT.preflight);
    assert.match(h.lines.join("\n"), /pulumi up failed: error: the stack is locked by another update$/m);
    assert.equal(h.store.writes.length, 0);
  });

  it("never prints the hub's connection string, even inside an error", async () => {
    const h = harness({
      env: { EDGEK8S_HUB_CONNECTION_STRING: SECRET },
      openStore: () => Promise.reject(new StoreError(`cannot connect with ${SECRET}`)),
    });
    assert.equal(await h.runWith("factory", "--stack", "local"), EXIT.preflight);
    const all = [...h.lines, ...h.errors].join("\n");
    assert.doesNotMatch(all, /c2VjcmV0LWtleQ/);
    assert.match(all, /<redacted>/);
  });
});
