import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { manifest, readExample, userModule } from "./fixtures/manifests.ts";
import {
  DEVICE,
  HUB_HOST,
  NAMESPACE,
  claim,
  container,
  deployment,
  envOf,
  podSpec,
  render,
  secret,
  service,
  warningsAbout,
} from "./fixtures/render.ts";

const one = (createOptions: unknown, extra: Record<string, unknown> = {}, image = "contoso.azurecr.io/sensor:2.1") =>
  render(manifest({ modules: { sensor: userModule(image, createOptions, extra) } }));

describe("translate: the quickstart (edgeHub + SimulatedTemperatureSensor)", () => {
  const t = render(readExample("quickstart.json"));

  it("makes a Deployment per module in the device namespace, edgeAgent excluded", () => {
    assert.deepEqual(
      t.objects.filter((o) => o.kind === "Deployment").map((o) => [o.metadata.name, o.metadata.namespace]),
      [
        ["edgehub", NAMESPACE],
        ["simulatedtemperaturesensor", NAMESPACE],
      ],
    );
    assert.equal(deployment(t, "edgehub").spec?.replicas, 1);
  });

  it("labels every object with managed-by, name, device and module, and selects on device + module", () => {
    for (const object of t.objects) {
      const labels = object.metadata.labels ?? {};
      assert.equal(labels["app.kubernetes.io/managed-by"], "edgek8s-agent");
      assert.equal(labels["app.kubernetes.io/name"], object.metadata.name);
      assert.equal(labels["edgek8s.io/device"], DEVICE);
      assert.ok(labels["edgek8s.io/module"], `${object.kind}/${object.metadata.name} has no module label`);
    }
    const d = deployment(t, "simulatedtemperaturesensor");
    assert.deepEqual(d.spec?.selector.matchLabels, {
      "edgek8s.io/device": DEVICE,
      "edgek8s.io/module": "simulatedtemperaturesensor",
    });
    assert.equal(d.metadata.annotations?.["edgek8s.io/module-id"], "SimulatedTemperatureSensor");
  });

  it("serves edgeHub's bound ports on a Service named edgehub", () => {
    const s = service(t, "edgehub");
    assert.deepEqual(
      s.spec?.ports?.map((p) => [p.name, p.port, p.targetPort, p.protocol]),
      [
        ["tcp-443", 443, 443, "TCP"],
        ["tcp-5671", 5671, 5671, "TCP"],
        ["tcp-8883", 8883, 8883, "TCP"],
      ],
    );
    assert.equal(s.spec.type, "ClusterIP");
    assert.deepEqual(s.spec.selector, { "edgek8s.io/device": DEVICE, "edgek8s.io/module": "edgehub" });
  });

  it("injects the IOTEDGE_* variables; the gateway host only for user modules", () => {
    assert.deepEqual(envOf(t, "simulatedtemperaturesensor"), {
      IOTEDGE_IOTHUBHOSTNAME: HUB_HOST,
      IOTEDGE_DEVICEID: DEVICE,
      IOTEDGE_MODULEID: "SimulatedTemperatureSensor",
      IOTEDGE_GATEWAYHOSTNAME: "edgehub",
    });
    assert.equal(envOf(t, "edgehub")["IOTEDGE_MODULEID"], "$edgeHub");
    assert.equal("IOTEDGE_GATEWAYHOSTNAME" in envOf(t, "edgehub"), false);
  });

  it("gives each module a ServiceAccount with no token and no API rights", () => {
    const accounts = t.objects.filter((o) => o.kind === "ServiceAccount");
    assert.deepEqual(
      accounts.map((a) => a.metadata.name),
      ["edgehub", "simulatedtemperaturesensor"],
    );
    for (const a of accounts)
      assert.equal((a as { automountServiceAccountToken?: boolean }).automountServiceAccountToken, false);
    assert.equal(podSpec(t, "edgehub").serviceAccountName, "edgehub");
    assert.equal(podSpec(t, "edgehub").automountServiceAccountToken, false);
  });

  it("orders objects by kind, then name, and is deterministic", () => {
    assert.deepEqual(
      t.objects.map((o) => o.kind),
      ["ServiceAccount", "ServiceAccount", "Service", "Deployment", "Deployment"],
    );
    assert.deepEqual(render(readExample("quickstart.json")), t);
  });
});

describe("translate: createOptions rules", () => {
  it("a gateway edgeHub: PortBindings 8883/5671/443 with other host ports, and the default service type", () => {
    const t = render(
      manifest({
        edgeHubCreateOptions: {
          HostConfig: {
            PortBindings: {
              "8883/tcp": [{ HostPort: "18883" }],
              "5671/tcp": [{ HostPort: "5671" }],
              "443/tcp": [{ HostPort: "8443" }],
            },
          },
        },
      }),
      { serviceType: "LoadBalancer" },
    );
    const s = service(t, "edgehub");
    assert.equal(s.spec?.type, "LoadBalancer");
    assert.deepEqual(
      s.spec.ports?.map((p) => [p.port, p.targetPort]),
      [
        [5671, 5671],
        [8443, 443],
        [18883, 8883],
      ],
    );
    assert.deepEqual(
      container(t, "edgehub").ports?.map((p) => p.containerPort),
      [8883, 5671, 443],
    );
  });

  it("ExposedPorts only → ClusterIP; serviceOptions.type wins", () => {
    assert.equal(service(one({ ExposedPorts: { "9090/tcp": {}, "53/udp": {} } }), "sensor").spec?.type, "ClusterIP");
    const t = one({
      HostConfig: { PortBindings: { "80/tcp": [{ HostPort: "80" }] } },
      "k8s-experimental": { serviceOptions: { type: "NodePort", loadBalancerIP: "10.0.0.9" } },
    });
    assert.equal(service(t, "sensor").spec?.type, "NodePort");
    assert.equal(service(t, "sensor").spec?.loadBalancerIP, "10.0.0.9");
    assert.deepEqual(service(one({ ExposedPorts: { "53/udp": {} } }), "sensor").spec?.ports, [
      { name: "udp-53", port: 53, targetPort: 53, protocol: "UDP" },
    ]);
  });

  it("no ports → no Service", () => {
    assert.equal(
      one({}).objects.some((o) => o.kind === "Service" && o.metadata.name === "sensor"),
      false,
    );
  });

  it("Binds: host paths → hostPath DirectoryOrCreate; named volumes → a claim named after the source", () => {
    const t = one({ HostConfig: { Binds: ["/var/lib/sensor:/data:ro", "sensor_cache:/cache"] } });
    const spec = podSpec(t, "sensor");
    assert.deepEqual(spec.volumes, [
      { name: "host-0", hostPath: { path: "/var/lib/sensor", type: "DirectoryOrCreate" } },
      { name: "data-1", persistentVolumeClaim: { claimName: "sensor-cache" } },
    ]);
    assert.deepEqual(container(t, "sensor").volumeMounts, [
      { name: "host-0", mountPath: "/data", readOnly: true },
      { name: "data-1", mountPath: "/cache" },
    ]);
    const pvc = claim(t, "sensor-cache");
    assert.deepEqual(pvc.spec?.accessModes, ["ReadWriteOnce"]);
    assert.deepEqual(pvc.spec.resources?.requests, { storage: "1Gi" });
    assert.equal(pvc.metadata.annotations?.["edgek8s.io/volume-source"], "sensor_cache");
    assert.equal(pvc.metadata.annotations["edgek8s.io/pvc-retention"], "Retain");
    assert.deepEqual(deployment(t, "sensor").spec?.strategy, { type: "Recreate" });
  });

  it("Mounts: bind, volume (configured size and class), tmpfs; one claim per volume shared by modules", () => {
    const mounts = {
      HostConfig: {
        Mounts: [
          { Type: "volume", Source: "shared", Target: "/shared" },
          { Type: "tmpfs", Target: "/run", TmpfsOptions: { SizeBytes: 1048576 } },
          { Type: "bind", Source: "/etc/ssl", Target: "/certs", ReadOnly: true },
        ],
      },
    };
    const t = render(
      manifest({
        modules: { a: userModule("x/a:1", mounts), b: userModule("x/b:1", { HostConfig: { Binds: ["shared:/in"] } }) },
      }),
      { volumeSize: "5Gi", storageClassName: "local-path" },
    );
    const claims = t.objects.filter((o) => o.kind === "PersistentVolumeClaim");
    assert.equal(claims.length, 1);
    assert.equal(claim(t, "shared").spec?.storageClassName, "local-path");
    assert.deepEqual(claim(t, "shared").spec?.resources?.requests, { storage: "5Gi" });
    assert.deepEqual(podSpec(t, "a").volumes?.[1], {
      name: "scratch-1",
      emptyDir: { medium: "Memory", sizeLimit: "1048576" },
    });
    assert.deepEqual(podSpec(t, "a").volumes?.[2], {
      name: "host-2",
      hostPath: { path: "/etc/ssl", type: "DirectoryOrCreate" },
    });
  });

  it("RWX claims keep the rolling update strategy; k8s-experimental.strategy wins", () => {
    const t = render(manifest({ modules: { a: userModule("x/a:1", { HostConfig: { Binds: ["v:/v"] } }) } }), {
      volumeAccessMode: "ReadWriteMany",
    });
    assert.equal(deployment(t, "a").spec?.strategy, undefined);
    assert.deepEqual(
      deployment(
        one({ "k8s-experimental": { strategy: { type: "RollingUpdate" } }, HostConfig: { Binds: ["v:/v"] } }),
        "sensor",
      ).spec?.strategy,
      { type: "RollingUpdate" },
    );
  });

  it("Tmpfs, anonymous Volumes and ShmSize → emptyDir", () => {
    const t = one({
      Volumes: { "/scratch": {} },
      HostConfig: { Tmpfs: { "/tmp": "rw,noexec,size=64m" }, ShmSize: 268435456 },
    });
    assert.deepEqual(podSpec(t, "sensor").volumes, [
      { name: "scratch-0", emptyDir: { medium: "Memory", sizeLimit: "67108864" } },
      { name: "scratch-1", emptyDir: {} },
      { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "268435456" } },
    ]);
    assert.deepEqual(
      container(t, "sensor").volumeMounts?.map((m) => m.mountPath),
      ["/tmp", "/scratch", "/dev/shm"],
    );
  });

  it("Memory, NanoCpus, CpuQuota/CpuPeriod, MemoryReservation, CpuShares → resources; k8s-experimental.resources overrides", () => {
    assert.deepEqual(
      container(
        one({ HostConfig: { Memory: 268435456, NanoCpus: 250000000, MemoryReservation: 134217728, CpuShares: 512 } }),
        "sensor",
      ).resources,
      {
        limits: { memory: "268435456", cpu: "250m" },
        requests: { memory: "134217728", cpu: "500m" },
      },
    );
    assert.deepEqual(container(one({ HostConfig: { CpuQuota: 50000, CpuPeriod: 100000 } }), "sensor").resources, {
      limits: { cpu: "500m" },
    });
    const override = one({
      HostConfig: { Memory: 1 },
      "k8s-experimental": { resources: { limits: { memory: "128Mi", "vendor.example/fpga": 1 } } },
    });
    assert.deepEqual(container(override, "sensor").resources, {
      limits: { memory: "128Mi", "vendor.example/fpga": "1" },
    });
    assert.equal(container(one({}), "sensor").resources, undefined);
  });

  it("Privileged, CapAdd/CapDrop (CAP_ prefix dropped), ReadonlyRootfs, User → securityContext", () => {
    assert.deepEqual(
      container(
        one({
          User: "1000:2000",
          HostConfig: {
            Privileged: true,
            CapAdd: ["CAP_NET_ADMIN", "SYS_TIME"],
            CapDrop: ["ALL"],
            ReadonlyRootfs: true,
          },
        }),
        "sensor",
      ).securityContext,
      {
        runAsUser: 1000,
        runAsGroup: 2000,
        privileged: true,
        readOnlyRootFilesystem: true,
        capabilities: { add: ["NET_ADMIN", "SYS_TIME"], drop: ["ALL"] },
      },
    );
    const named = one({ User: "app" });
    assert.equal(container(named, "sensor").securityContext, undefined);
    assert.match(warningsAbout(named, "createOptions.User")[0] ?? "", /not numeric/);
  });

  it("host network, IPC and PID → pod host namespaces, ClusterFirstWithHostNet, Recreate", () => {
    const t = one({ HostConfig: { NetworkMode: "host", IpcMode: "host", PidMode: "host" } });
    const spec = podSpec(t, "sensor");
    assert.equal(spec.hostNetwork, true);
    assert.equal(spec.hostIPC, true);
    assert.equal(spec.hostPID, true);
    assert.equal(spec.dnsPolicy, "ClusterFirstWithHostNet");
    assert.deepEqual(deployment(t, "sensor").spec?.strategy, { type: "Recreate" });
    assert.equal(podSpec(one({ HostConfig: { NetworkMode: "azure-iot-edge" } }), "sensor").hostNetwork, undefined);
    assert.equal(warningsAbout(one({ HostConfig: { NetworkMode: "azure-iot-edge" } }), "NetworkMode").length, 0);
    assert.match(
      warningsAbout(one({ HostConfig: { NetworkMode: "container:other" } }), "NetworkMode")[0] ?? "",
      /no Kubernetes equivalent/,
    );
  });

  it("Healthcheck → liveness probe (CMD, CMD-SHELL, NONE, Docker defaults)", () => {
    const probe = container(
      one({
        Healthcheck: {
          Test: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
          Interval: 15000000000,
          Timeout: 1500000000,
          Retries: 5,
          StartPeriod: 20000000000,
        },
      }),
      "sensor",
    ).livenessProbe;
    assert.deepEqual(probe, {
      exec: { command: ["/bin/sh", "-c", "curl -f http://localhost/ || exit 1"] },
      periodSeconds: 15,
      timeoutSeconds: 2,
      failureThreshold: 5,
      initialDelaySeconds: 20,
    });
    assert.deepEqual(
      container(one({ Healthcheck: { Test: ["CMD", "/bin/check", "--quick"] } }), "sensor").livenessProbe,
      { exec: { command: ["/bin/check", "--quick"] }, periodSeconds: 30, timeoutSeconds: 30, failureThreshold: 3 },
    );
    assert.equal(container(one({ Healthcheck: { Test: ["NONE"] } }), "sensor").livenessProbe, undefined);
  });

  it("k8s-experimental: volumes, nodeSelector, securityContext, tolerations, affinity", () => {
    const t = one({
      "k8s-experimental": {
        volumes: [
          {
            volume: { name: "config", configMap: { name: "module-config" } },
            volumeMounts: [{ name: "config", mountPath: "/etc/module", readOnly: true }],
          },
        ],
        nodeSelector: { "node-role.example/edge": "true" },
        securityContext: { runAsNonRoot: true, fsGroup: 2000 },
        tolerations: [{ key: "dedicated", operator: "Equal", value: "edge", effect: "NoSchedule" }],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }],
            },
          },
        },
      },
    });
    const spec = podSpec(t, "sensor");
    assert.deepEqual(spec.volumes, [{ name: "config", configMap: { name: "module-config" } }]);
    assert.deepEqual(container(t, "sensor").volumeMounts, [
      { name: "config", mountPath: "/etc/module", readOnly: true },
    ]);
    assert.deepEqual(spec.nodeSelector, { "node-role.example/edge": "true" });
    assert.deepEqual(spec.securityContext, { runAsNonRoot: true, fsGroup: 2000 });
    assert.equal(spec.tolerations?.[0]?.key, "dedicated");
    assert.ok(spec.affinity?.nodeAffinity);
  });

  it("registry credentials → one dockerconfigjson Secret per registry, referenced by images from that registry", () => {
    const t = render(
      manifest({
        registryCredentials: {
          contoso: { address: "contoso.azurecr.io", username: "contoso", password: "s3cret" },
          hub: { address: "index.docker.io", username: "me", password: "pw" },
        },
        modules: {
          a: userModule("contoso.azurecr.io/a:1"),
          b: userModule("library/redis:7"),
          c: userModule("mcr.microsoft.com/c:1"),
        },
      }),
    );
    const s = secret(t, "registry-contoso");
    assert.equal(s.type, "kubernetes.io/dockerconfigjson");
    const config = JSON.parse(Buffer.from(s.data?.[".dockerconfigjson"] ?? "", "base64").toString()) as {
      auths: Record<string, { username: string; password: string; auth: string }>;
    };
    assert.deepEqual(config.auths["contoso.azurecr.io"], {
      username: "contoso",
      password: "s3cret",
      auth: Buffer.from("contoso:s3cret").toString("base64"),
    });
    assert.deepEqual(podSpec(t, "a").imagePullSecrets, [{ name: "registry-contoso" }]);
    assert.deepEqual(podSpec(t, "b").imagePullSecrets, [{ name: "registry-hub" }]);
    assert.equal(podSpec(t, "c").imagePullSecrets, undefined);
  });

  it("a stopped module → replicas 0, objects kept", () => {
    const t = one({ ExposedPorts: { "80/tcp": {} } }, { status: "stopped" });
    assert.equal(deployment(t, "sensor").spec?.replicas, 0);
    assert.ok(service(t, "sensor"));
  });

  it("startupOrder and version are carried for the reconciler", () => {
    const t = one({}, { startupOrder: 7, version: "2.0.1" });
    assert.equal(deployment(t, "sensor").metadata.annotations?.["edgek8s.io/startup-order"], "7");
    assert.equal(deployment(t, "sensor").metadata.annotations?.["edgek8s.io/module-version"], "2.0.1");
    assert.deepEqual(
      t.modules.find((m) => m.id === "sensor"),
      { id: "sensor", k8sName: "sensor", startupOrder: 7, status: "running" },
    );
  });

  it("Docker Labels → pod and Service annotations; invalid keys reported", () => {
    const t = one({ ExposedPorts: { "80/tcp": {} }, Labels: { "com.contoso.line": "3", "bad key!": "x" } });
    assert.equal(deployment(t, "sensor").spec?.template.metadata?.annotations?.["com.contoso.line"], "3");
    assert.equal(service(t, "sensor").metadata.annotations?.["com.contoso.line"], "3");
    assert.match(warningsAbout(t, "Labels.bad key!")[0] ?? "", /not a valid Kubernetes annotation key/);
  });

  it("env: createOptions Env < module env < injected; ':' rewritten to '__' with a warning", () => {
    const t = one(
      { Env: ["A=from-create", "B=create", "IOTEDGE_DEVICEID=spoofed", "EMPTY"] },
      { env: { B: { value: "module" }, "Logging:LogLevel:Default": { value: "Debug" } } },
    );
    const env = envOf(t, "sensor");
    assert.equal(env["A"], "from-create");
    assert.equal(env["B"], "module");
    assert.equal(env["EMPTY"], "");
    assert.equal(env["IOTEDGE_DEVICEID"], DEVICE);
    assert.equal(env["Logging__LogLevel__Default"], "Debug");
    assert.equal("Logging:LogLevel:Default" in env, false);
    assert.match(warningsAbout(t, "env.Logging:LogLevel:Default")[0] ?? "", /renamed to Logging__LogLevel__Default/);
    assert.equal(container(t, "sensor").env?.filter((e) => e.name === "IOTEDGE_DEVICEID").length, 1);
  });

  it("Entrypoint/Cmd/WorkingDir/Hostname/StopTimeout/ExtraHosts/Sysctls → container and pod fields", () => {
    const t = one({
      Entrypoint: ["/app/run"],
      Cmd: "--port 80 --verbose",
      WorkingDir: "/app",
      Hostname: "sensor-1",
      StopTimeout: 45,
      HostConfig: { ExtraHosts: ["plc:10.0.0.5", "plc-alias:10.0.0.5"], Sysctls: { "net.ipv4.ip_forward": "1" } },
    });
    const c = container(t, "sensor");
    assert.deepEqual(c.command, ["/app/run"]);
    assert.deepEqual(c.args, ["--port", "80", "--verbose"]);
    assert.equal(c.workingDir, "/app");
    const spec = podSpec(t, "sensor");
    assert.equal(spec.hostname, "sensor-1");
    assert.equal(spec.terminationGracePeriodSeconds, 45);
    assert.deepEqual(spec.hostAliases, [{ ip: "10.0.0.5", hostnames: ["plc", "plc-alias"] }]);
    assert.deepEqual(spec.securityContext, {
      seccompProfile: { type: "RuntimeDefault" },
      sysctls: [{ name: "net.ipv4.ip_forward", value: "1" }],
    });
  });

  it("imagePullPolicy: on-create → IfNotPresent, never → Never", () => {
    assert.equal(container(one({}), "sensor").imagePullPolicy, "IfNotPresent");
    assert.equal(container(one({}, { imagePullPolicy: "never" }), "sensor").imagePullPolicy, "Never");
  });
});

describe("translate: what cannot be honoured is reported", () => {
  it("unmapped createOptions fields are warnings with their path", () => {
    const t = one({
      StopSignal: "SIGINT",
      Tty: true,
      HostConfig: { LogConfig: { Type: "json-file" }, RestartPolicy: { Name: "always" } },
    });
    assert.deepEqual(
      t.warnings.map((w) => w.path.replace(/^.*\.modules\.sensor\./, "")),
      [
        "settings.createOptions.StopSignal",
        "settings.createOptions.Tty",
        "settings.createOptions.HostConfig.LogConfig",
        "settings.createOptions.HostConfig.RestartPolicy",
      ],
    );
  });

  it("Devices are reported unless a device plugin resource is requested", () => {
    const devices = {
      HostConfig: {
        Devices: [{ PathOnHost: "/dev/ttyUSB0", PathInContainer: "/dev/ttyUSB0", CgroupPermissions: "rwm" }],
      },
    };
    assert.match(warningsAbout(one(devices), "Devices")[0] ?? "", /device plugin/);
    assert.equal(
      warningsAbout(
        one({ ...devices, "k8s-experimental": { resources: { limits: { "serial.example/tty": 1 } } } }),
        "Devices",
      ).length,
      0,
    );
  });

  it("restart policies a Deployment cannot honour are reported", () => {
    assert.match(warningsAbout(one({}, { restartPolicy: "never" }), "restartPolicy")[0] ?? "", /after any exit/);
    assert.match(warningsAbout(one({}, { restartPolicy: "on-failure" }), "restartPolicy")[0] ?? "", /after any exit/);
    assert.match(
      warningsAbout(one({}, { restartPolicy: "on-unhealthy" }), "restartPolicy")[0] ?? "",
      /without a Healthcheck/,
    );
    assert.equal(
      warningsAbout(one({ Healthcheck: { Test: ["CMD", "true"] } }, { restartPolicy: "on-unhealthy" }), "restartPolicy")
        .length,
      0,
    );
    assert.equal(warningsAbout(one({}), "restartPolicy").length, 0);
  });
});

describe("translate: ownership", () => {
  it("sets a controller ownerReference to the EdgeDeployment on every object when an owner is given", async () => {
    const { parseManifest } = await import("../src/manifest/parse.ts");
    const { translate } = await import("../src/translate/translate.ts");
    const { DEFAULT_TRANSLATION_DEFAULTS } = await import("../src/translate/context.ts");
    const parsed = parseManifest(readExample("factory-gateway.json"));
    assert.ok(parsed.ok);
    const owner = {
      apiVersion: "edgek8s.io/v1",
      kind: "EdgeDeployment",
      name: "line3-gw",
      uid: "0b9f6d3e-1111-4c1e-9f00-000000000001",
    };
    const t = translate(parsed.manifest, {
      deviceId: DEVICE,
      hubHostName: HUB_HOST,
      namespace: NAMESPACE,
      defaults: DEFAULT_TRANSLATION_DEFAULTS,
      owner,
    });
    for (const o of t.objects)
      assert.deepEqual(o.metadata.ownerReferences, [{ ...owner, controller: true, blockOwnerDeletion: true }]);
  });
});
