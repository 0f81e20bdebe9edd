// End to end: the README's main job on a full local control plane — `pulumi up --stack local` with the
// real Pulumi CLI, the Kubernetes provider plugin built by scripts/tools and a file backend, the agent
// as a process, every module running — a namespace someone else made refused, then `pulumi destroy`
// leaves the cluster exactly as it was found.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse, stringify } from "yaml";
import { clusterDown, clusterUp, kubeconfigOf } from "../../../scripts/cluster/localCluster.ts";
import { toolPath } from "../../../scripts/cluster/tools.ts";
import { STACK, configFile, ensureStack, pulumiEnv } from "../../../scripts/local/pulumi.ts";

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

  /** `pulumi <command>` with the given edgek8s:* values; resolves with its output when it fails. */
  async function failedPulumi(config: Record<string, unknown>, command = "preview"): Promise<string> {
    const file = join(state, "Pulumi.bad.yaml");
    const salt = /^encryptionsalt: (.*)$/m.exec(readFileSync(join(ROOT, "Pulumi.local.yaml"), "utf8"))?.[1];
    writeFileSync(file, stringify({ encryptionsalt: salt, config }));
    const args = [command, "--stack", STACK, "--non-interactive", "--config-file", file];
    if (command === "up") args.push("--yes", "--skip-preview");
    const failure = await run(toolPath("pulumi"), args, { cwd: ROOT, env: pulumiEnv(state) }).then(
      () => assert.fail(`${command} succeeded with a bad configuration`),
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
    const typeError = await failedPulumi({
      "edgek8s:hub": { mode: "none" },
      "edgek8s:clusters": { local: { ...cluster, agent: { replicas: "two" } } },
    });
    assert.match(typeError, /edgek8s:clusters\.local\.agent\.replicas: expected number, received string/);
    const crossErrors = await failedPulumi({
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
    assert.match(stdout, /21 unchanged/);
    assert.doesNotMatch(stdout, /\d+ (created|updated|deleted|replaced)\b/);
  });

  it("refuses a device whose namespace someone else made, at preview and at up, and leaves that namespace alone", async () => {
    const foreign = "msiot-local-hub-intruder";
    kubectl("create", "namespace", foreign);
    kubectl("label", "namespace", foreign, "team=someone-else");
    const derived = parse(readFileSync(configFile(state, clusterDir), "utf8")) as { config: Record<string, unknown> };
    const config = structuredClone(derived.config) as Record<string, Record<string, unknown>>;
    config["edgek8s:devices"] = {
      ...config["edgek8s:devices"],
      intruder: { cluster: "local", manifest: "deployments/quickstart.json" },
    };
    const refusal = /Namespace msiot-local-hub-intruder already exists and was not made by edgek8s/;
    assert.match(await failedPulumi(config, "preview"), refusal);
    assert.match(await failedPulumi(config, "up"), refusal);
    const after = JSON.parse(kubectl("get", "namespace", foreign, "-o", "json")) as {
      metadata: { labels: Record<string, string> };
    };
    assert.equal(after.metadata.labels["team"], "someone-else");
    assert.equal(after.metadata.labels["app.kubernetes.io/managed-by"], undefined, "not adopted");
    assert.equal(kubectl("get", "networkpolicy,edgedeployment", "-n", foreign, "-o", "name").trim(), "");
    // Any other writer is refused alike: the guard is the cluster's, not the program's.
    const relabel = spawnSync(
      toolPath("kubectl"),
      [
        "--kubeconfig",
        kubeconfigOf(clusterDir),
        "label",
        "namespace",
        foreign,
        "app.kubernetes.io/managed-by=edgek8s-pulumi",
      ],
      { encoding: "utf8" },
    );
    assert.notEqual(relabel.status, 0);
    assert.match(relabel.stderr, refusal);
    kubectl("delete", "namespace", foreign, "--wait=true");
  });

  it("`destroy` leaves the cluster as it found it: no namespace, CRD, policy or Helm release secret left", async () => {
    const { stdout } = await local("destroy");
    assert.match(stdout, /destroyed in/);
    assert.deepEqual(snapshot(), found);
    assert.equal(kubectl("get", "secrets", "-A", "-l", "owner=helm", "-o", "name").trim(), "");
    assert.doesNotMatch(kubectl("get", "namespaces", "-o", "name"), /msiot-|edgek8s-system/);
    assert.doesNotMatch(kubectl("get", "crd,validatingadmissionpolicies", "-o", "name"), /edgek8s/);
    const log = readFileSync(join(state, "agent", "agent.log"), "utf8");
    assert.doesNotMatch(log, /SharedAccessKey=|BEGIN .*PRIVATE KEY/);
  });
});
