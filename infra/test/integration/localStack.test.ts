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
import { type JsonValue, contentHash12 } from "@edgek8s/agent";
import { clusterDown, clusterUp, kubeconfigOf } from "../../../scripts/cluster/localCluster.ts";
import { toolPath } from "../../../scripts/cluster/tools.ts";
import { STACK, configFile, ensureStack, pulumiEnv } from "../../../scripts/local/pulumi.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const idOf = (track: string, path: string) =>
  `ek8s-${track}-${contentHash12((JSON.parse(readFileSync(join(ROOT, path), "utf8")) as { modulesContent: JsonValue }).modulesContent)}`;
const GATEWAY = idOf("gateway", "deployments/factory-gateway.json");
const SENSOR = idOf("sensor", "deployments/quickstart.json");
const VISION = idOf("vision", "deployments/vision-layer.json");
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

  type Release = {
    metadata: { name: string; generation: number };
    spec: { track: string; targetCondition: string; priority: number; labels: Record<string, string> };
    status?: { applied?: string[]; observedGeneration?: number };
  };
  const releases = () => (JSON.parse(kubectl("get", "edgereleases", "-o", "json")) as { items: Release[] }).items;
  const release = (name: string) => {
    const found = releases().find((r) => r.metadata.name === name);
    if (!found)
      assert.fail(
        `no EdgeRelease ${name}; have ${releases()
          .map((r) => r.metadata.name)
          .join(", ")}`,
      );
    return found;
  };
  const applied = () =>
    Object.fromEntries(releases().map((r) => [`${r.spec.track} ${r.metadata.name}`, r.status?.applied ?? []]));
  const edgeDeployment = (device: string) =>
    JSON.parse(
      kubectl(
        "get",
        "edgedeployment",
        device,
        "-n",
        `msiot-local-hub-${device}`,
        "-o",
        "json",
        "--show-managed-fields",
      ),
    ) as {
      metadata: { managedFields: { manager: string }[] };
      spec: { desiredVersion?: number; edgeAgent: Record<string, Record<string, unknown> | undefined> };
    };
  const newGateway = () =>
    releases().find((r) => r.spec.track === "gateway" && r.metadata.name !== GATEWAY)?.metadata.name ?? "none";
  const changedManifest = join(state, "factory-gateway.v2.json");

  /** The example's tracks with some keys changed. */
  function tracksWith(changes: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
    const doc = parse(readFileSync(join(ROOT, "Pulumi.local.yaml"), "utf8")) as { config: Record<string, unknown> };
    const tracks = structuredClone(doc.config["edgek8s:tracks"]) as Record<string, Record<string, unknown>>;
    for (const [name, change] of Object.entries(changes)) tracks[name] = { ...tracks[name], ...change };
    return tracks;
  }

  /** `pulumi up` of the example with other tracks; the agent the first `up` started keeps running. */
  async function pulumiUp(tracks: Record<string, unknown>): Promise<void> {
    await pulumiCommand("up", tracks);
  }

  async function pulumiCommand(command: "up" | "preview", tracks: Record<string, unknown>): Promise<string> {
    const derived = parse(readFileSync(configFile(state, clusterDir), "utf8")) as Record<string, unknown> & {
      config: Record<string, unknown>;
    };
    derived.config["edgek8s:tracks"] = tracks;
    const file = join(state, "Pulumi.tracks.yaml");
    writeFileSync(file, stringify(derived));
    const args = [command, "--stack", STACK, "--non-interactive", "--config-file", file];
    if (command === "up") args.push("--yes", "--skip-preview");
    const { stdout } = await run(toolPath("pulumi"), args, { cwd: ROOT, env: pulumiEnv(state), maxBuffer: 64 << 20 });
    return stdout;
  }

  async function waitFor(condition: () => boolean, seconds = 30): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!condition()) {
      if (Date.now() > deadline) assert.fail("timed out waiting for the release engine");
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
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

  it("previews the stack with tracks on a fresh cluster (no EdgeRelease CRD yet), changing nothing", async () => {
    ensureStack(state);
    const { stdout } = await run(
      toolPath("pulumi"),
      ["preview", "--stack", STACK, "--non-interactive", "--config-file", configFile(state, clusterDir)],
      { cwd: ROOT, env: pulumiEnv(state), maxBuffer: 64 << 20 },
    );
    assert.match(stdout, new RegExp(`\\+\\s+kubernetes:edgek8s.io/v1:EdgeRelease\\s+local-${GATEWAY}\\s+create`));
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
      "visionanalytics running",
    ]);
    assert.match(stdout, /2\/2 devices ready/);
  });

  it("applies each track's release to the devices its target selects: `kubectl get edgereleases` lists them", () => {
    assert.deepEqual(applied(), {
      [`gateway ${GATEWAY}`]: ["line3-gw"],
      [`sensor ${SENSOR}`]: ["edge-device-1"],
      [`vision ${VISION}`]: ["line3-gw"],
    });
    const table = kubectl("get", "edgereleases");
    assert.match(table, /APPLIED ON/);
    assert.match(table, new RegExp(`${GATEWAY}\\s+gateway\\s+1\\s.*\\bline3-gw\\b`));
    // The base and the layer merged into the device's deployment, by the engine, not by Pulumi.
    const gw = edgeDeployment("line3-gw");
    assert.ok(gw.spec.edgeAgent["modules"]?.["visionAnalytics"], "the layer's module");
    assert.ok(gw.spec.edgeAgent["modules"]?.["opcPublisher"], "the base's module");
    assert.ok(gw.metadata.managedFields.some((f) => f.manager === "edgek8s-release-engine"));
  });

  it("gives the agent the release engine's rights and no more (its ServiceAccount, as the API server judges it)", () => {
    const can = (verb: string, resource: string) =>
      spawnSync(
        toolPath("kubectl"),
        [
          ...["--kubeconfig", kubeconfigOf(clusterDir), "auth", "can-i", verb],
          // `edgereleases.edgek8s.io/status` → the status subresource.
          ...resource.split("/").map((part, i) => (i === 0 ? part : `--subresource=${part}`)),
          "--as=system:serviceaccount:edgek8s-system:edgek8s-agent",
        ],
        { encoding: "utf8" },
      ).stdout.trim();
    const rights = Object.fromEntries(
      [
        ["list", "edgereleases.edgek8s.io"],
        ["watch", "edgereleases.edgek8s.io"],
        ["patch", "edgereleases.edgek8s.io/status"],
        ["patch", "edgedeployments.edgek8s.io"],
        ["list", "namespaces"],
        ["patch", "edgereleases.edgek8s.io"],
        ["create", "edgereleases.edgek8s.io"],
        ["delete", "edgereleases.edgek8s.io"],
        ["create", "edgedeployments.edgek8s.io"],
        ["patch", "namespaces"],
      ].map(([verb, resource]) => [`${verb!} ${resource!}`, can(verb!, resource!)]),
    );
    assert.deepEqual(rights, {
      "list edgereleases.edgek8s.io": "yes",
      "watch edgereleases.edgek8s.io": "yes",
      "patch edgereleases.edgek8s.io/status": "yes",
      "patch edgedeployments.edgek8s.io": "yes",
      "list namespaces": "yes",
      // The release's content, target and labels are Pulumi's and the rollout's, never the agent's.
      "patch edgereleases.edgek8s.io": "no",
      "create edgereleases.edgek8s.io": "no",
      "delete edgereleases.edgek8s.io": "no",
      "create edgedeployments.edgek8s.io": "no",
      "patch namespaces": "no",
    });
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
    assert.deepEqual(
      kubectl("get", "networkpolicy", "-n", "msiot-local-hub-line3-gw", "-o", "name").trim().split("\n").sort(),
      ["allow-edgehub-gateway", "allow-published-ports", "allow-within-device", "default-deny-ingress"].map(
        (name) => `networkpolicy.networking.k8s.io/${name}`,
      ),
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
    assert.match(stdout, /\d+ unchanged/);
    assert.doesNotMatch(stdout, /\d+ (created|updated|deleted|replaced)\b/);
  });

  it("a changed manifest makes a new release that targets nothing; every device stays on the old one", async () => {
    const before = edgeDeployment("line3-gw").spec.desiredVersion;
    const manifest = JSON.parse(readFileSync(join(ROOT, "deployments/factory-gateway.json"), "utf8")) as {
      modulesContent: { $edgeAgent: { "properties.desired": { modules: Record<string, { env?: unknown }> } } };
    };
    manifest.modulesContent.$edgeAgent["properties.desired"].modules["lineAnalytics"]!.env = {
      WINDOW: { value: "30s" },
    };
    writeFileSync(changedManifest, JSON.stringify(manifest));
    await pulumiUp(tracksWith({ gateway: { manifest: changedManifest } }));
    const next = release(newGateway());
    assert.equal(next.spec.targetCondition, "");
    assert.equal(next.spec.priority, 2);
    await waitFor(() => release(newGateway()).status?.observedGeneration === release(newGateway()).metadata.generation);
    assert.deepEqual(release(newGateway()).status?.applied ?? [], []);
    assert.deepEqual(release(GATEWAY).status?.applied, ["line3-gw"]);
    assert.equal(edgeDeployment("line3-gw").spec.desiredVersion, before, "no device moved");
  });

  it("what the rollout wrote survives `up`, also when `up` updates that release; the stable's target follows the config", async () => {
    // The rollout driver's write (agent/src/rollout/localStore.ts): its field manager, its fields only.
    const write = {
      apiVersion: "edgek8s.io/v1",
      kind: "EdgeRelease",
      metadata: { name: newGateway() },
      spec: {
        targetCondition: "deviceId='line3-gw'",
        labels: { "edgek8s.state": "Applying", "edgek8s.ring": "canary" },
      },
    };
    const file = join(state, "rollout-write.json");
    writeFileSync(file, JSON.stringify(write));
    kubectl("apply", "--server-side", "--field-manager=edgek8s-rollout", "--force-conflicts", "-f", file);
    // The next preview has nothing to do: the rollout's fields are not Pulumi's to undo.
    const preview = await pulumiCommand("preview", tracksWith({ gateway: { manifest: changedManifest } }));
    assert.doesNotMatch(preview, /EdgeRelease\s+\S+\s+update/);
    assert.match(preview, /\d+ unchanged/);
    // A new base track named before the others moves every gateway release's priority band, so `up`
    // writes the candidate too; and the track's target changes.
    const tracks = tracksWith({
      gateway: { manifest: changedManifest, target: "tags.class='gateway' AND tags.site='plant-west'" },
    });
    tracks["aaa"] = { manifest: "deployments/quickstart.json", target: "tags.class='none'" };
    await pulumiUp(tracks);
    const candidate = release(newGateway());
    assert.equal(candidate.spec.targetCondition, "deviceId='line3-gw'");
    assert.equal(candidate.spec.labels["edgek8s.state"], "Applying");
    assert.equal(candidate.spec.labels["edgek8s.ring"], "canary");
    assert.equal(candidate.spec.priority, 100_002, "Pulumi did update it");
    const stable = release(GATEWAY);
    assert.equal(stable.spec.targetCondition, "tags.class='gateway' AND tags.site='plant-west'");
    assert.equal(stable.spec.priority, 100_001);
  });

  it("refuses an EdgeRelease someone else made with a release's name, at preview, and leaves it alone", async () => {
    const name = idOf("extra", "deployments/quickstart.json");
    const foreign = {
      apiVersion: "edgek8s.io/v1",
      kind: "EdgeRelease",
      metadata: { name, labels: { team: "someone-else" } },
      spec: {
        track: "extra",
        layer: false,
        priority: 7,
        targetCondition: "",
        modulesContent: { $edgeAgent: {} },
        labels: { "edgek8s.stack": "other.stack", "edgek8s.track": "extra" },
      },
    };
    const file = join(state, "foreign-release.json");
    writeFileSync(file, JSON.stringify(foreign));
    kubectl("create", "-f", file);
    const derived = parse(readFileSync(configFile(state, clusterDir), "utf8")) as { config: Record<string, unknown> };
    const config = structuredClone(derived.config);
    config["edgek8s:tracks"] = {
      ...tracksWith({}),
      extra: { manifest: "deployments/quickstart.json", target: "tags.class='none'" },
    };
    const out = await failedPulumi(config, "preview");
    assert.match(
      out,
      new RegExp(
        `edgek8s:tracks\\.extra: EdgeRelease ${name} already exists in the cluster and is not this track's \\(labels edgek8s\\.stack=other\\.stack`,
      ),
    );
    const after = release(name);
    assert.equal(after.spec.priority, 7);
    // Any writer claiming it for edgek8s is refused by the cluster's adoption guard.
    const relabel = spawnSync(
      toolPath("kubectl"),
      [
        ...["--kubeconfig", kubeconfigOf(clusterDir), "label", "edgerelease", name],
        "app.kubernetes.io/managed-by=edgek8s-pulumi",
      ],
      { encoding: "utf8" },
    );
    assert.notEqual(relabel.status, 0);
    assert.match(relabel.stderr, new RegExp(`EdgeRelease ${name} already exists and was not made by edgek8s`));
    kubectl("delete", "edgerelease", name);
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
    assert.match(
      spawnSync(toolPath("kubectl"), ["--kubeconfig", kubeconfigOf(clusterDir), "get", "edgereleases"], {
        encoding: "utf8",
      }).stderr,
      /the server doesn't have a resource type "edgereleases"/,
    );
    const log = readFileSync(join(state, "agent", "agent.log"), "utf8");
    assert.doesNotMatch(log, /SharedAccessKey=|BEGIN .*PRIVATE KEY/);
  });
});
