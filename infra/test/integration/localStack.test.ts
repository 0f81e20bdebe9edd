// End to end: the README's main job on a full local control plane — `pulumi up --stack local` with the
// real Pulumi CLI and a file backend, the agent as a process, every module running — then `pulumi
// destroy` leaves the cluster exactly as it was found.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { clusterDown, clusterUp, kubeconfigOf } from "../../../scripts/cluster/localCluster.ts";
import { toolPath } from "../../../scripts/cluster/tools.ts";
import { STACK, ensureStack, pulumiEnv } from "../../../scripts/local/pulumi.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const run = promisify(execFile);

describe("npm run local: the local stack for real", { timeout: 600_000 }, () => {
  const state = mkdtempSync(join(tmpdir(), "edgek8s-local-"));
  const clusterDir = join(state, "cluster");
  const env = { ...process.env, EDGEK8S_STATE: state };
  const kubectl = (...args: string[]) =>
    execFileSync(toolPath("kubectl"), ["--kubeconfig", kubeconfigOf(clusterDir), ...args], { encoding: "utf8" });
  const local = (...args: string[]) =>
    run(process.execPath, [join(ROOT, "scripts/local/main.ts"), ...args], { cwd: ROOT, env, maxBuffer: 64 << 20 });

  /** Every object's kind, namespace and name, except the ones the cluster itself churns (events). */
  function snapshot(): string[] {
    const types = kubectl("api-resources", "--verbs=list", "-o", "name")
      .split("\n")
      .filter((t) => t !== "" && !t.startsWith("events"));
    return kubectl(
      "get",
      types.join(","),
      "-A",
      "--no-headers",
      "-o",
      "custom-columns=K:.kind,NS:.metadata.namespace,N:.metadata.name",
    )
      .split("\n")
      .filter((l) => l.trim() !== "")
      .sort();
  }

  let found: string[] = [];
  before(async () => {
    await clusterUp(clusterDir, () => undefined);
    found = snapshot();
  });
  after(async () => {
    await local("destroy").catch(() => undefined);
    await clusterDown(clusterDir, () => undefined);
    rmSync(state, { recursive: true, force: true });
  });

  /** `pulumi preview` with the given edgek8s:* values; resolves with its output when it fails. */
  async function failedPreview(config: Record<string, unknown>): Promise<string> {
    const file = join(state, "Pulumi.bad.yaml");
    const salt = /^encryptionsalt: (.*)$/m.exec(readFileSync(join(ROOT, "Pulumi.local.yaml"), "utf8"))?.[1];
    writeFileSync(file, stringify({ encryptionsalt: salt, config }));
    const args = ["preview", "--stack", STACK, "--non-interactive", "--config-file", file];
    const failure = await run(toolPath("pulumi"), args, { cwd: ROOT, env: pulumiEnv(state) }).then(
      () => assert.fail("preview succeeded with a bad configuration"),
      (error: unknown) => error as { code: number; stdout: string; stderr: string },
    );
    assert.notEqual(failure.code, 0);
    const out = failure.stdout + failure.stderr;
    assert.doesNotMatch(out, /\bat .*\.ts:\d+/, "no stack trace for bad input");
    return out;
  }

  it("refuses bad stack configuration at preview, naming every key, and changes nothing", async () => {
    ensureStack(state);
    const cluster = { kubeconfig: kubeconfigOf(clusterDir) };
    const typeError = await failedPreview({
      "edgek8s:hub": { mode: "none" },
      "edgek8s:clusters": { local: { ...cluster, agent: { replicas: "two" } } },
    });
    assert.match(typeError, /edgek8s:clusters\.local\.agent\.replicas: expected number, received string/);
    const crossErrors = await failedPreview({
      "edgek8s:hub": { mode: "none" },
      "edgek8s:clusters": { local: cluster },
      "edgek8s:devices": {
        "gw-1": { cluster: "plant-9", manifest: "deployments/quickstart.json" },
        "gw-2": { cluster: "local", manifest: "deployments/missing.json" },
        "bad device!": { cluster: "local", manifest: "deployments/quickstart.json" },
      },
    });
    assert.match(crossErrors, /edgek8s:devices\.gw-1\.cluster: unknown cluster "plant-9"; clusters: local/);
    assert.match(crossErrors, /edgek8s:devices\.bad device!: device id/);
    assert.match(crossErrors, /edgek8s:devices\.gw-2\.manifest: deployments\/missing\.json does not exist/);
    assert.deepEqual(snapshot(), found);
  });

  it("brings the stack up and prints every device's modules running (modbusAdapter is stopped by its manifest)", async () => {
    const { stdout } = await local("up", "--timeout", "240");
    const table = stdout.slice(stdout.indexOf("DEVICE"));
    const rows = table
      .split("\n")
      .slice(1)
      .filter((l) => /\b(running|stopped|backoff|failed|unknown|unhealthy)\b/.test(l))
      .map((l) => l.trim().split(/\s+/).slice(-3, -1).join(" "));
    assert.deepEqual(rows.sort(), [
      "edgehub running",
      "edgehub running",
      "lineanalytics running",
      "modbusadapter stopped",
      "opcpublisher running",
      "simulatedtemperaturesensor running",
    ]);
    assert.match(stdout, /2\/2 devices ready/);
  });

  it("made the CRD, the agent's Helm release, and per device a namespace with Pod Security, policies and the EdgeDeployment", () => {
    assert.match(kubectl("get", "crd", "edgedeployments.edgek8s.io", "-o", "name"), /edgedeployments\.edgek8s\.io/);
    const releases = execFileSync(
      toolPath("helm"),
      ["--kubeconfig", kubeconfigOf(clusterDir), "list", "-n", "edgek8s-system", "-o", "json"],
      { encoding: "utf8" },
    );
    assert.deepEqual(
      (JSON.parse(releases) as { name: string; status: string }[]).map((r) => [r.name, r.status]),
      [["edgek8s-agent", "deployed"]],
    );
    const ns = JSON.parse(kubectl("get", "ns", "msiot-local-hub-line3-gw", "-o", "json")) as {
      metadata: { labels: Record<string, string> };
    };
    assert.equal(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "baseline");
    assert.equal(
      kubectl("get", "networkpolicy", "-n", "msiot-local-hub-line3-gw", "-o", "name").trim().split("\n").length,
      3,
    );
    const ed = JSON.parse(
      kubectl(
        "get",
        "edgedeployment",
        "line3-gw",
        "-n",
        "msiot-local-hub-line3-gw",
        "-o",
        "json",
        "--show-managed-fields",
      ),
    ) as {
      metadata: { managedFields: { manager: string }[] };
    };
    assert.ok(ed.metadata.managedFields.some((f) => f.manager === "edgek8s-pulumi"));
  });

  it("a second `up` changes nothing", async () => {
    const { stdout } = await local("up");
    assert.match(stdout, /18 unchanged/);
    assert.doesNotMatch(stdout, /(KubeObject|HelmRelease) \S+ (created|updated|deleted|replaced)/);
  });

  it("`destroy` leaves the cluster as it found it", async () => {
    const { stdout } = await local("destroy");
    assert.match(stdout, /destroyed in/);
    assert.deepEqual(snapshot(), found);
    const log = readFileSync(join(state, "agent", "agent.log"), "utf8");
    assert.doesNotMatch(log, /SharedAccessKey=|BEGIN .*PRIVATE KEY/);
  });
});
