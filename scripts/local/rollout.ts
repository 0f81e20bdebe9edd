// `scripts/run rollout TRACK [flags]`: `edgek8s rollout TRACK --stack local` on the local stack, with
// the Pulumi CLI set up as scripts/local runs it (the state folder's file backend and plugin home, an
// empty passphrase) and the local cluster's kubeconfig. When the state folder is not the default
// one, its derived Pulumi.local.yaml is used through a project folder of its own, so the stack config
// the rollout reads (and `--start` applies) is the one `scripts/run` applied.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parse, stringify } from "yaml";
import { rolloutCommand } from "../../agent/src/cli/rollout.ts";
import { defaultClusterDir, kubeconfigOf } from "../cluster/localCluster.ts";
import { ROOT, STACK, configFile, ensureStack, pulumiEnv } from "./pulumi.ts";

/** A Pulumi project folder whose program is this repository's and whose local stack config is `config`. */
function projectFor(state: string, config: string): string {
  const dir = join(state, "project");
  mkdirSync(dir, { recursive: true });
  const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(dir, "Pulumi.yaml"), stringify({ ...project, main: `${relative(dir, join(ROOT, "infra"))}/` }));
  writeFileSync(join(dir, `Pulumi.${STACK}.yaml`), readFileSync(config, "utf8"));
  return dir;
}

export async function localRollout(args: readonly string[]): Promise<number> {
  const state = process.env["EDGEK8S_STATE"] ?? join(ROOT, ".state");
  const clusterDir = defaultClusterDir();
  const given = (flag: string) => args.some((a) => a === flag || a.startsWith(`${flag}=`));
  if (given("--stack") || given("--cwd"))
    throw new Error("scripts/run rollout works on the local stack; run edgek8s rollout for others");
  const help = given("--help") || given("-h");
  if (!help) {
    ensureStack(state);
    Object.assign(process.env, pulumiEnv(state));
  }
  const config = configFile(state, clusterDir);
  const cwd = config === join(ROOT, `Pulumi.${STACK}.yaml`) ? ROOT : projectFor(state, config);
  const extra = help
    ? []
    : ["--stack", STACK, "--cwd", cwd, ...(given("--kubeconfig") ? [] : ["--kubeconfig", kubeconfigOf(clusterDir)])];
  return rolloutCommand([...args, ...extra], {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}
