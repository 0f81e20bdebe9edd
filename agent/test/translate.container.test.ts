import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { container, deployment, envOf, one, podSpec, warningsAbout } from "./fixtures/render.ts";
import { DEVICE } from "./fixtures/render.ts";

describe("translate: environment, as the runtime merges it", () => {
  it("createOptions Env wins over module env and injected variables (edgelet merge_env); module env cannot replace injected ones", () => {
    const t = one(
      { Env: ["A=from-create", "B=create", "IOTEDGE_GATEWAYHOSTNAME=gw.local", "EMPTY", "=orphan"] },
      { env: { B: { value: "module" }, C: { value: 3 }, IOTEDGE_DEVICEID: { value: "spoofed" } } },
    );
    const env = envOf(t, "sensor");
    assert.equal(env["A"], "from-create");
    assert.equal(env["B"], "create");
    assert.equal(env["C"], "3");
    assert.equal(env["EMPTY"], "");
    assert.equal(env["IOTEDGE_GATEWAYHOSTNAME"], "gw.local");
    assert.equal(env["IOTEDGE_DEVICEID"], DEVICE);
    assert.equal(container(t, "sensor").env?.filter((e) => e.name === "IOTEDGE_DEVICEID").length, 1);
    assert.match(warningsAbout(t, "env.IOTEDGE_DEVICEID")[0] ?? "", /IoT Edge runtime refuses a module that sets it/);
    assert.match(warningsAbout(t, "Env[2]")[0] ?? "", /overrides the value the runtime gives IOTEDGE_GATEWAYHOSTNAME/);
    assert.match(warningsAbout(t, "Env[4]")[0] ?? "", /has no variable name; ignored/);
  });

  it("RuntimeLogLevel is injected unless the module's env sets it", () => {
    assert.equal(envOf(one({}), "sensor")["RuntimeLogLevel"], "Information");
    assert.equal(
      envOf(one({}, { env: { RuntimeLogLevel: { value: "debug" } } }), "sensor")["RuntimeLogLevel"],
      "debug",
    );
  });

  it("IOTEDGE_PARENTHOSTNAME for a nested device's modules", () => {
    assert.equal(
      envOf(one({}, {}, undefined, { parentHostname: "parent.local" }), "sensor")["IOTEDGE_PARENTHOSTNAME"],
      "parent.local",
    );
    assert.equal("IOTEDGE_PARENTHOSTNAME" in envOf(one({}), "sensor"), false);
  });

  it("':' in names (.NET sections) is rewritten to '__' with a warning", () => {
    const t = one({}, { env: { "Logging:LogLevel:Default": { value: "Debug" } } });
    assert.equal(envOf(t, "sensor")["Logging__LogLevel__Default"], "Debug");
    assert.match(warningsAbout(t, "env.Logging:LogLevel:Default")[0] ?? "", /renamed to Logging__LogLevel__Default/);
  });
});

describe("translate: container and pod fields", () => {
  it("Entrypoint/Cmd (a string is one argument, as Docker's StrSlice), WorkingDir, Tty, Hostname, StopTimeout", () => {
    const t = one({
      entrypoint: ["/app/run"],
      cmd: "--port 80 --verbose",
      WorkingDir: "/app",
      Tty: "true",
      OpenStdin: true,
      Hostname: "sensor-1",
      StopTimeout: "45",
    });
    const c = container(t, "sensor");
    assert.deepEqual(c.command, ["/app/run"]);
    assert.deepEqual(c.args, ["--port 80 --verbose"]);
    assert.equal(c.workingDir, "/app");
    assert.equal(c.tty, true);
    assert.equal(c.stdin, true);
    const spec = podSpec(t, "sensor");
    assert.equal(spec.hostname, "sensor-1");
    assert.equal(spec.terminationGracePeriodSeconds, 45);
  });

  it("ExtraHosts, Dns/DnsSearch/DnsOptions, Sysctls, GroupAdd → pod fields", () => {
    const t = one({
      HostConfig: {
        ExtraHosts: ["plc:10.0.0.5", "plc-alias:10.0.0.5"],
        Dns: ["10.1.0.10"],
        DnsSearch: ["plant.local"],
        DnsOptions: ["ndots:2", "rotate"],
        Sysctls: { "net.ipv4.ip_forward": "1" },
        GroupAdd: ["44", "root", "video"],
      },
    });
    const spec = podSpec(t, "sensor");
    assert.deepEqual(spec.hostAliases, [{ ip: "10.0.0.5", hostnames: ["plc", "plc-alias"] }]);
    assert.deepEqual(spec.dnsConfig, {
      nameservers: ["10.1.0.10"],
      searches: ["plant.local"],
      options: [{ name: "ndots", value: "2" }, { name: "rotate" }],
    });
    assert.equal(spec.dnsPolicy, undefined);
    assert.deepEqual(spec.securityContext, {
      seccompProfile: { type: "RuntimeDefault" },
      sysctls: [{ name: "net.ipv4.ip_forward", value: "1" }],
      supplementalGroups: [44, 0],
    });
    assert.match(warningsAbout(t, "GroupAdd[2]")[0] ?? "", /not numeric/);
  });

  it("Runtime: nvidia → the nvidia RuntimeClass; runc is the default", () => {
    assert.equal(podSpec(one({ HostConfig: { Runtime: "nvidia" } }), "sensor").runtimeClassName, "nvidia");
    assert.equal(podSpec(one({ HostConfig: { Runtime: "runc" } }), "sensor").runtimeClassName, undefined);
  });

  it("Memory, NanoCpus, CpuQuota/CpuPeriod, MemoryReservation, CpuShares, GPU DeviceRequests → resources", () => {
    assert.deepEqual(
      container(
        one({ HostConfig: { Memory: "268435456", NanoCpus: 250000000, MemoryReservation: 134217728, CpuShares: 512 } }),
        "sensor",
      ).resources,
      { limits: { memory: "268435456", cpu: "250m" }, requests: { memory: "134217728", cpu: "500m" } },
    );
    assert.deepEqual(container(one({ HostConfig: { CpuQuota: 50000, CpuPeriod: 100000 } }), "sensor").resources, {
      limits: { cpu: "500m" },
    });
    const gpu = one({ HostConfig: { DeviceRequests: [{ Driver: "nvidia", Count: -1, Capabilities: [["gpu"]] }] } });
    assert.deepEqual(container(gpu, "sensor").resources, { limits: { "nvidia.com/gpu": "1" } });
    assert.match(warningsAbout(gpu, "DeviceRequests[0].Count")[0] ?? "", /all GPUs/);
    assert.equal(container(one({}), "sensor").resources, undefined);
  });

  it('k8s-experimental.resources replaces them, quantities as strings (2 → "2")', () => {
    const override = one({
      HostConfig: { Memory: 1 },
      "k8s-experimental": { Resources: { Limits: { memory: "128Mi", "microsoft.com/fpga_catapult": 2 } } },
    });
    assert.deepEqual(container(override, "sensor").resources, {
      limits: { memory: "128Mi", "microsoft.com/fpga_catapult": "2" },
    });
  });

  it('Privileged ("true" too), CapAdd/CapDrop, ReadonlyRootfs, User (root → 0), SecurityOpt → securityContext', () => {
    assert.deepEqual(
      container(
        one({
          User: "root",
          HostConfig: {
            Privileged: "true",
            CapAdd: ["CAP_NET_ADMIN", "SYS_TIME"],
            CapDrop: ["ALL"],
            ReadonlyRootfs: "True",
            SecurityOpt: ["no-new-privileges", "seccomp=unconfined", "apparmor:unconfined", "label=disable"],
          },
        }),
        "sensor",
      ).securityContext,
      {
        runAsUser: 0,
        allowPrivilegeEscalation: false,
        seccompProfile: { type: "Unconfined" },
        appArmorProfile: { type: "Unconfined" },
        privileged: true,
        readOnlyRootFilesystem: true,
        capabilities: { add: ["NET_ADMIN", "SYS_TIME"], drop: ["ALL"] },
      },
    );
    assert.deepEqual(container(one({ User: "1000:root" }), "sensor").securityContext, {
      runAsUser: 1000,
      runAsGroup: 0,
    });
    const named = one({ User: "app" });
    assert.equal(container(named, "sensor").securityContext, undefined);
    assert.match(warningsAbout(named, "createOptions.User")[0] ?? "", /not numeric/);
    assert.equal(container(one({ HostConfig: { Privileged: "false" } }), "sensor").securityContext, undefined);
  });

  it("host network (any case), IPC and PID → pod host namespaces, ClusterFirstWithHostNet, Recreate", () => {
    const t = one({ HostConfig: { NetworkMode: "Host", IpcMode: "host", PidMode: "host" } });
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
      /a Docker network of its own/,
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

  it('k8s-experimental: volumes, nodeSelector, securityContext, tolerations, affinity, keys any case, "true" → true', () => {
    const t = one({
      "K8s-Experimental": {
        Volumes: [
          {
            Volume: { Name: "config", ConfigMap: { Name: "module-config", Optional: "true" } },
            VolumeMounts: [{ Name: "config", MountPath: "/etc/module", ReadOnly: "true" }],
          },
        ],
        NodeSelector: { "node-role.example/edge": "true" },
        SecurityContext: { RunAsNonRoot: "true", FsGroup: "2000" },
        Tolerations: [{ key: "dedicated", operator: "equal", value: "edge", effect: "NoSchedule" }],
        Affinity: {
          NodeAffinity: {
            RequiredDuringSchedulingIgnoredDuringExecution: {
              NodeSelectorTerms: [{ MatchExpressions: [{ Key: "zone", Operator: "In", Values: ["a"] }] }],
            },
          },
        },
      },
    });
    const spec = podSpec(t, "sensor");
    assert.deepEqual(spec.volumes, [{ name: "config", configMap: { name: "module-config", optional: true } }]);
    assert.deepEqual(container(t, "sensor").volumeMounts, [
      { name: "config", mountPath: "/etc/module", readOnly: true },
    ]);
    assert.deepEqual(spec.nodeSelector, { "node-role.example/edge": "true" });
    assert.deepEqual(spec.securityContext, { runAsNonRoot: true, fsGroup: 2000 });
    assert.deepEqual(spec.tolerations, [{ key: "dedicated", operator: "Equal", value: "edge", effect: "NoSchedule" }]);
    assert.deepEqual(spec.affinity, {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }],
        },
      },
    });
  });
});
