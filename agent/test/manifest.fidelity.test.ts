import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AGENT, HUB, manifest, userModule } from "./fixtures/manifests.ts";
import { container, one, podSpec, problems, render, warningsAbout } from "./fixtures/render.ts";
import { desiredStatusFor } from "../src/manifest/issues.ts";
import { parseManifest } from "../src/manifest/parse.ts";
import { checkRoute } from "../src/manifest/routes.ts";

const OPTIONS = `${AGENT}.modules.sensor.settings.createOptions`;
const sensorWith = (module: Record<string, unknown>) => manifest({ modules: { sensor: module } });

function spec(input: unknown, id = "sensor") {
  const parsed = parseManifest(input);
  if (!parsed.ok) assert.fail(parsed.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
  return parsed.manifest.modules.find((m) => m.id === id)!;
}

function code(input: unknown): number {
  const parsed = parseManifest(input);
  return parsed.ok ? 200 : desiredStatusFor(parsed.issues).code;
}

describe("createOptions read as the IoT Edge agent reads them (Newtonsoft.Json)", () => {
  it("matches keys case-insensitively at every level", () => {
    const module = spec(
      sensorWith(
        userModule("a/b:1", {
          cmd: ["--fast"],
          exposedPorts: { "80/tcp": {} },
          hostConfig: { privileged: true, binds: ["/data:/data"], portBindings: { "80/tcp": [{ hostPort: "8080" }] } },
        }),
      ),
    );
    assert.deepEqual(module.createOptions.Cmd, ["--fast"]);
    assert.equal(module.createOptions.HostConfig?.Privileged, true);
    assert.deepEqual(
      module.portBindings.map((b) => [b.port, b.hostPort]),
      [[80, 8080]],
    );
    assert.deepEqual(module.exposedPorts, [{ port: 80, protocol: "TCP" }]);
    assert.equal(module.mounts[0]?.kind, "hostPath");
  });

  it('coerces values: "true"/"False" → booleans, numeric strings → numbers, numbers → strings', () => {
    const module = spec(
      sensorWith(
        userModule("a/b:1", {
          StopTimeout: "30",
          HostConfig: {
            Privileged: "true",
            ReadonlyRootfs: "False",
            Memory: "536870912",
            NanoCpus: 1.5e9,
            Mounts: [{ Type: "volume", Source: "v1", Target: "/v", ReadOnly: "false" }],
            PortBindings: { "443/tcp": [{ HostPort: 8443 }] },
          },
        }),
      ),
    );
    const host = module.createOptions.HostConfig!;
    assert.equal(host.Privileged, true);
    assert.equal(host.ReadonlyRootfs, false);
    assert.equal(host.Memory, 536870912);
    assert.equal(host.NanoCpus, 1500000000);
    assert.equal(module.createOptions.StopTimeout, 30);
    assert.deepEqual(module.mounts[0], {
      kind: "volume",
      source: "v1",
      target: "/v",
      readOnly: false,
      subPath: undefined,
      at: module.mounts[0]!.at,
    });
    assert.equal(module.portBindings[0]?.hostPort, 8443);
  });

  it("takes null as absent anywhere in createOptions", () => {
    const module = spec(
      sensorWith(
        userModule("a/b:1", {
          Env: null,
          Cmd: null,
          HostConfig: {
            Binds: null,
            Memory: null,
            Privileged: null,
            PortBindings: { "80/tcp": null },
            Devices: [null],
          },
          "k8s-experimental": null,
        }),
      ),
    );
    assert.deepEqual(module.createOptions, { HostConfig: { PortBindings: {}, Devices: [] } });
    assert.deepEqual(module.portBindings, []);
    assert.deepEqual(module.k8sExperimental, {});
  });

  it('reads "", "null", whitespace and {} as no createOptions; an object as the options themselves', () => {
    for (const createOptions of ["", "null", "  ", "{}"])
      assert.deepEqual(spec(sensorWith(userModule("a/b:1", createOptions))).createOptions, {});
    const object = { ...userModule("a/b:1"), settings: { image: "a/b:1", createOptions: { WorkingDir: "/app" } } };
    assert.equal(spec(sensorWith(object)).createOptions.WorkingDir, "/app");
  });

  it("accepts what Newtonsoft's reader accepts beyond JSON (unquoted names, single quotes, comments, trailing commas), with a warning", () => {
    const text = `{ HostConfig: { 'Privileged': true, /* host access */ "Binds": ['/dev:/dev',], }, }`;
    const t = render(sensorWith(userModule("a/b:1", text)));
    assert.equal(container(t, "sensor").securityContext?.privileged, true);
    assert.match(warningsAbout(t, "createOptions")[0] ?? "", /not strict JSON/);
    assert.match(
      problems(sensorWith(userModule("a/b:1", '{"HostConfig": {'))).join(),
      /is not valid JSON: .* at line 1 column 17/,
    );
  });

  it("joins createOptions chunks named in any case", () => {
    const text = JSON.stringify({ WorkingDir: "/app", Env: ["A=1"] });
    const module = {
      ...userModule("a/b:1"),
      settings: { image: "a/b:1", CreateOptions: text.slice(0, 10), createOptions01: text.slice(10) },
    };
    assert.equal(spec(sensorWith(module)).createOptions.WorkingDir, "/app");
  });

  it("a string Cmd or Entrypoint is one element, as Docker's StrSlice reads it", () => {
    const module = spec(sensorWith(userModule("a/b:1", { Cmd: "python app.py", Entrypoint: "/bin/sh" })));
    assert.deepEqual(module.createOptions.Cmd, ["python app.py"]);
    assert.deepEqual(module.createOptions.Entrypoint, ["/bin/sh"]);
  });

  it("reports every field Kubernetes cannot honour with its full path, nested ones too", () => {
    const t = one({
      Privileged: true,
      StopSignal: "SIGINT",
      HostConfig: {
        LogConfig: { Type: "json-file", Config: { "max-size": "10m" } },
        RestartPolicy: { Name: "always" },
        ExposedPorts: { "80/tcp": {} },
        Devices: [{ PathOnHost: "/dev/nvmap", PathnContainer: "/dev/nvmap" }],
        Mounts: [{ Type: "volume", Source: "v1", Target: "/v", VolumeOptions: { DriverConfig: { Name: "local" } } }],
      },
      NetworkingConfig: { EndpointsConfig: { host: {} } },
    });
    const byPath = Object.fromEntries(t.warnings.map((w) => [w.path.replace(`${OPTIONS}.`, ""), w.message]));
    assert.match(
      byPath["Privileged"] ?? "",
      /is a HostConfig field \(HostConfig\.Privileged\): Docker ignores it at the top level/,
    );
    assert.match(byPath["StopSignal"] ?? "", /SIGTERM/);
    assert.match(byPath["HostConfig.LogConfig"] ?? "", /node settings of the kubelet/);
    assert.match(byPath["HostConfig.RestartPolicy"] ?? "", /module's restartPolicy decides/);
    assert.match(byPath["HostConfig.ExposedPorts"] ?? "", /top-level createOptions field \(ExposedPorts\)/);
    assert.match(byPath["HostConfig.Devices[0].PathnContainer"] ?? "", /not a field the runtime reads/);
    assert.match(byPath["HostConfig.Mounts[0].VolumeOptions.DriverConfig"] ?? "", /volume drivers/);
    assert.equal(container(t, "sensor").securityContext, undefined);
  });

  it("warns when a key is given twice in different case; the last wins, as Newtonsoft overwrites", () => {
    const t = one({ Cmd: ["a"], cmd: ["b"] });
    assert.deepEqual(container(t, "sensor").args, ["b"]);
    assert.match(warningsAbout(t, "createOptions.cmd")[0] ?? "", /also given as "Cmd"; the last one wins/);
  });
});

describe("the module and the desired documents, as the runtime reads them", () => {
  it("module keys and enum values in any case; restartPolicy defaults to on-unhealthy", () => {
    const module = spec(
      sensorWith({
        Version: "1.0",
        Type: "docker",
        Status: "Running",
        RestartPolicy: "OnFailure",
        ImagePullPolicy: "ON-CREATE",
        Settings: { Image: "a/b:1" },
      }),
    );
    assert.equal(module.status, "running");
    assert.equal(module.restartPolicy, "on-failure");
    assert.equal(module.imagePullPolicy, "on-create");
    assert.equal(spec(sensorWith({ ...userModule("a/b:1"), restartPolicy: undefined })).restartPolicy, "on-unhealthy");
  });

  it("startupOrder under $edgeAgent schemaVersion 1.0 is read and honoured, as the agent does", () => {
    assert.equal(
      spec(manifest({ schemaVersion: "1.0", modules: { sensor: userModule("a/b:1", {}, { startupOrder: 2 }) } }))
        .startupOrder,
      2,
    );
  });

  it("accepts the $edgeAgent schema versions the agent accepts (major 1, up to 1.1.0) and refuses the rest with 412", () => {
    for (const version of ["1.0", "1.1", "1.1.0", "1.0.5", 1.1])
      assert.equal(code(manifest({ schemaVersion: version })), 200, String(version));
    for (const version of ["1.2", "2.0", "1.1.0.0", "1", "latest", ""])
      assert.equal(code(manifest({ schemaVersion: version })), 412, version);
  });

  it("accepts every $edgeHub schema version edgeHub reads (1.0 to 1.3, build parts allowed) and refuses the rest with 412", () => {
    for (const version of ["1.0", "1.1", "1.2", "1.3", "1.2.0"])
      assert.equal(code(manifest({ hubSchemaVersion: version })), 200, version);
    for (const version of ["1.4", "2.0", "x"])
      assert.equal(code(manifest({ hubSchemaVersion: version })), 412, version);
  });

  it("takes a bare env value with a warning; null entries are skipped", () => {
    const t = one({}, { env: { A: "plain", B: 5, C: null, D: { Value: "x" } } });
    const env = Object.fromEntries((container(t, "sensor").env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env["A"], "plain");
    assert.equal(env["B"], "5");
    assert.equal("C" in env, false);
    assert.equal(env["D"], "x");
    assert.match(warningsAbout(t, "env.A")[0] ?? "", /is not \{"value": …\}/);
  });

  it("warns that systemModules.edgeAgent settings are not used", () => {
    const input = manifest();
    const agent = input.modulesContent.$edgeAgent["properties.desired"].systemModules.edgeAgent as Record<
      string,
      unknown
    >;
    agent["env"] = { UpstreamProtocol: { value: "AmqpWs" } };
    agent["settings"] = {
      image: "mcr.microsoft.com/azureiotedge-agent:1.5",
      createOptions: '{"HostConfig":{"Binds":["/x:/x"]}}',
    };
    const t = render(input);
    assert.match(
      warningsAbout(t, "systemModules.edgeAgent.env")[0] ?? "",
      /systemModules\.edgeAgent's settings are not used/,
    );
    assert.match(
      warningsAbout(t, "systemModules.edgeAgent.settings.createOptions")[0] ?? "",
      /createOptions are not used/,
    );
  });

  it("resolves $upstream in images for a nested device, or refuses it with what to configure", () => {
    const nested = sensorWith(userModule("$upstream:443/azureiotedge-simulated-temperature-sensor:1.5"));
    assert.match(
      problems(nested).join(),
      /settings\.image: "\$upstream:443\/.*" names \$upstream, the parent device of a nested IoT Edge; .*--parent-hostname/,
    );
    const t = render(nested, { parentHostname: "parent-gw.plant.local" });
    assert.equal(
      container(t, "sensor").image,
      "parent-gw.plant.local:443/azureiotedge-simulated-temperature-sensor:1.5",
    );
  });

  it("refuses a layered deployment on its own, saying why", () => {
    const layer = {
      modulesContent: {
        $edgeAgent: { "properties.desired.modules.sensor": userModule("a/b:1") },
        $edgeHub: { "properties.desired.routes.r": "FROM /* INTO $upstream" },
      },
    };
    assert.match(
      problems(layer).join(),
      /properties\.desired\.modules\.sensor: this is a layered deployment: IoT Hub applies it on top of a base deployment/,
    );
  });

  it("notes module twin desired properties beside $edgeAgent and $edgeHub", () => {
    const input = {
      modulesContent: { ...manifest().modulesContent, sensor: { "properties.desired": { interval: 5 } } },
    };
    assert.match(warningsAbout(render(input), "modulesContent.sensor")[0] ?? "", /module twin desired properties/);
  });
});

describe("routes: edgeHub's grammar", () => {
  const accepted = [
    "FROM /messages/* INTO $upstream",
    'from /messages/modules/tempSensor/outputs/temperatureOutput into BrokeredEndpoint("/modules/filter/inputs/input1")',
    "SELECT * FROM /messages/modules/a/* WHERE $connectionDeviceId = 'INTO x' AND temperature > 25 INTO $upstream",
    "FROM /* INTO brokeredendpoint('/modules/b/inputs/in')",
    "FROM /twinChangeNotifications INTO $Upstream",
    "FROM /messages/modules/publisher INTO $upstream",
    'FROM /messages/* WHERE (a = 1) INTO BrokeredEndpoint("modules/b/inputs/in/")',
  ];
  for (const route of accepted) {
    it(`accepts ${route}`, () => {
      assert.deepEqual(checkRoute(route), { ok: true });
    });
  }

  const refused: [string, RegExp][] = [
    ["SELECT * FROM messages", /INTO <sink> is missing/],
    ["FROM /messages/* INTO blob", /the sink "blob" is not \$upstream or BrokeredEndpoint/],
    ['FROM /messages/* INTO Storage("/x")', /"Storage\(…\)" is not supported/],
    ['FROM /messages/* INTO BrokeredEndpoint("/modules/b")', /is not "\/modules\/<id>\/inputs\/<input>"/],
    ["FROM messages INTO $upstream", /is not a path/],
    ["FROM /messages/* WHERE (a = 1 INTO $upstream", /'\(' without its '\)'/],
    ["FROM /messages/* WHERE a = 'x INTO $upstream", /unterminated string/],
  ];
  for (const [route, message] of refused) {
    it(`refuses ${route}`, () => {
      const check = checkRoute(route);
      assert.equal(check.ok, false);
      if (!check.ok) assert.match(check.message, message);
    });
  }

  it("skips an empty 1.0 route, refuses an empty 1.1 route, and takes the default priority", () => {
    assert.equal(code(manifest({ hubSchemaVersion: "1.0", routes: { r: "" } })), 200);
    assert.match(
      problems(manifest({ routes: { r: " " } })).join(),
      new RegExp(`${HUB.replaceAll("$", "\\$")}\\.routes\\.r: must not be empty`),
    );
    assert.equal(
      code(manifest({ routes: { r: { route: "FROM /* INTO $upstream", priority: 2000000000, _comment: "x" } } })),
      200,
    );
  });
});

describe("k8s-experimental: typed, refused where the API server would refuse", () => {
  const refusedWith = (experimental: unknown) =>
    problems(sensorWith(userModule("a/b:1", { "k8s-experimental": experimental }))).join("\n");
  const AT = `${OPTIONS}.k8s-experimental`;

  it("refuses unknown fields, wrong types, bad quantities and closed-set values, naming the path", () => {
    assert.match(
      refusedWith({ volumes: [{ volume: { name: "c", configMapp: { name: "x" } } }] }),
      new RegExp(`${AT.replaceAll("$", "\\$")}\\.volumes\\[0\\]\\.volume\\.configMapp: is not a field of this object`),
    );
    assert.match(
      refusedWith({ resources: { limits: { memory: "1GB" } } }),
      /resources\.limits\.memory: must be a Kubernetes quantity/,
    );
    assert.match(
      refusedWith({ tolerations: [{ operator: "Sometimes" }] }),
      /tolerations\[0\]\.operator: must be one of "Exists", "Equal"/,
    );
    assert.match(
      refusedWith({ securityContext: { runAsUser: "root" } }),
      /securityContext\.runAsUser: must be a whole number/,
    );
    assert.match(
      refusedWith({ strategy: { type: "Recreate", rollingUpdate: { maxSurge: 1 } } }),
      /strategy\.rollingUpdate: may not be given with type "Recreate"/,
    );
    assert.match(
      refusedWith({ strategy: { rollingUpdate: { maxSurge: "lots" } } }),
      /maxSurge: must be a whole number or a percentage/,
    );
    assert.match(
      refusedWith({ serviceOptions: { loadBalancerIP: "gateway" } }),
      /loadBalancerIP: "gateway" is not an IP address/,
    );
  });

  it("refuses volumes a pod cannot have: no name, a bad name, a mount of an unknown volume, a path mounted twice", () => {
    assert.match(refusedWith({ volumes: [{ volume: { emptyDir: {} } }] }), /volumes\[0\]\.volume\.name: is required/);
    assert.match(refusedWith({ volumes: [{ volume: { name: "Cfg", emptyDir: {} } }] }), /"Cfg" is not a DNS label/);
    assert.match(
      refusedWith({ volumes: [{ volume: { name: "host-0", emptyDir: {} } }] }),
      /a name edgek8s gives volumes it makes/,
    );
    assert.match(
      refusedWith({
        volumes: [{ volume: { name: "a", emptyDir: {} }, volumeMounts: [{ name: "b", mountPath: "/b" }] }],
      }),
      /volumeMounts\[0\]\.name: mounts "b", which no k8s-experimental volume is named/,
    );
    assert.match(
      refusedWith({ volumes: [{ volume: { name: "a", hostPath: {} }, volumeMount: { name: "a" } }] }),
      /volume\.hostPath\.path: is required[\s\S]*volumeMount\.mountPath: is required/,
    );
  });

  it("warns about a section it does not know, instead of refusing the manifest", () => {
    const t = one({ "k8s-experimental": { replicas: 3, nodeSelector: { disk: "ssd" } } });
    assert.deepEqual(podSpec(t, "sensor").nodeSelector, { disk: "ssd" });
    assert.match(
      warningsAbout(t, "k8s-experimental.replicas")[0] ?? "",
      /not a k8s-experimental section edgek8s knows/,
    );
  });
});
