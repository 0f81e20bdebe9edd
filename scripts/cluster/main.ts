// `npm run cluster:up` / `cluster:down` / `cluster:status`: the persistent local cluster under
// .state/cluster (or $EDGEK8S_STATE/cluster).
import { clusterDown, clusterStatus, clusterUp, defaultClusterDir } from "./localCluster.ts";

const dir = defaultClusterDir();
const commands: Record<string, () => Promise<void> | void> = {
  up: () => clusterUp(dir, console.log, { realNode: process.argv.includes("--real-node") }),
  down: () => clusterDown(dir),
  status: () => {
    if (!clusterStatus(dir)) process.exitCode = 1;
  },
};
const command = commands[process.argv[2] ?? ""];
if (!command) {
  console.error("usage: node scripts/cluster/main.ts up [--real-node]|down|status");
  process.exit(2);
}
try {
  await command();
} catch (error) {
  console.error(`cluster: ${(error as Error).message}`);
  process.exit(1);
}
