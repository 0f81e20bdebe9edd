import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { manifest, userModule } from "./fixtures/manifests.ts";
import { claim, container, deployment, one, podSpec, problems, render, warningsAbout } from "./fixtures/render.ts";

describe("translate: host I/O (binds, devices, shared memory)", () => {
  it("Binds of files, sockets, devices and directories → hostPath with no type check; volumes → claims", () => {
    const t = one({
      HostConfig: {
        Binds: [
          "/var/run/docker.sock:/var/run/docker.sock",
          "/dev/video0:/dev/video0",
          "/etc/sensor/config.json:/app/config.json:ro",
          "/var/lib/sensor:/data",
          "sensor_cache:/cache",
        ],
      },
    });
    assert.deepEqual(podSpec(t, "sensor").volumes, [
      { name: "host-0", hostPath: { path: "/var/run/docker.sock" } },
      { name: "host-1", hostPath: { path: "/dev/video0" } },
      { name: "host-2", hostPath: { path: "/etc/sensor/config.json" } },
      { name: "host-3", hostPath: { path: "/var/lib/sensor" } },
      { name: "data-4", persistentVolumeClaim: { claimName: "sensor-cache" } },
    ]);
    assert.deepEqual(container(t, "sensor").volumeMounts?.[2], {
      name: "host-2",
      mountPath: "/app/config.json",
      readOnly: true,
    });
    const pvc = claim(t, "sensor-cache");
    assert.deepEqual(pvc.spec?.accessModes, ["ReadWriteOnce"]);
    assert.deepEqual(pvc.spec.resources?.requests, { storage: "1Gi" });
    assert.equal(pvc.metadata.annotations?.["edgek8s.io/volume-source"], "sensor_cache");
    assert.equal(pvc.metadata.annotations["edgek8s.io/pvc-retention"], "Retain");
    assert.deepEqual(deployment(t, "sensor").spec?.strategy, { type: "Recreate" });
  });

  it("bind propagation → mountPropagation; shared needs a privileged container, else it is downgraded and reported", () => {
    const binds = { Binds: ["/mnt/a:/a:rslave", "/mnt/b:/b:rshared,ro", "/mnt/c:/c:z"] };
    const t = one({ HostConfig: { ...binds, Privileged: true } });
    assert.deepEqual(
      container(t, "sensor").volumeMounts?.map((m) => [m.mountPath, m.mountPropagation, m.readOnly]),
      [
        ["/a", "HostToContainer", undefined],
        ["/b", "Bidirectional", true],
        ["/c", undefined, undefined],
      ],
    );
    assert.match(warningsAbout(t, "Binds[2]")[0] ?? "", /SELinux relabelling/);
    const unprivileged = one({ HostConfig: binds });
    assert.equal(container(unprivileged, "sensor").volumeMounts?.[1]?.mountPropagation, "HostToContainer");
    assert.match(warningsAbout(unprivileged, "Binds[1]")[0] ?? "", /privileged container/);
    const mounts = one({
      HostConfig: {
        Mounts: [{ Type: "bind", Source: "/mnt", Target: "/mnt", BindOptions: { Propagation: "rslave" } }],
      },
    });
    assert.equal(container(mounts, "sensor").volumeMounts?.[0]?.mountPropagation, "HostToContainer");
  });

  it("Devices → the device node mounted from the host; reported unless privileged or given by a device plugin", () => {
    const devices = {
      Devices: [{ PathOnHost: "/dev/ttyUSB0", PathInContainer: "/dev/serial", CgroupPermissions: "rwm" }],
    };
    const t = one({ HostConfig: devices });
    assert.deepEqual(podSpec(t, "sensor").volumes, [{ name: "device-0", hostPath: { path: "/dev/ttyUSB0" } }]);
    assert.deepEqual(container(t, "sensor").volumeMounts, [{ name: "device-0", mountPath: "/dev/serial" }]);
    assert.match(warningsAbout(t, "Devices[0]")[0] ?? "", /only a privileged container may open it/);
    assert.equal(warningsAbout(one({ HostConfig: { ...devices, Privileged: "true" } }), "Devices").length, 0);
    assert.equal(
      warningsAbout(
        one({ HostConfig: devices, "k8s-experimental": { resources: { limits: { "serial.example/tty": 1 } } } }),
        "Devices",
      ).length,
      0,
    );
  });

  it("ShmSize → a memory /dev/shm, except with IpcMode host, which keeps the host's /dev/shm", () => {
    assert.deepEqual(podSpec(one({ HostConfig: { ShmSize: 268435456 } }), "sensor").volumes, [
      { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "268435456" } },
    ]);
    const shared = one({ HostConfig: { ShmSize: 1536870912, IpcMode: "host" } });
    assert.equal(podSpec(shared, "sensor").volumes, undefined);
    assert.equal(podSpec(shared, "sensor").hostIPC, true);
  });

  it("anonymous volumes are not mounted over the image's files, and say so", () => {
    const t = one({
      Volumes: { "/etc/grafana/provisioning": {}, "/data": {} },
      HostConfig: { Binds: ["/srv/data:/data"], Mounts: [{ Type: "volume", Target: "/scratch" }] },
    });
    assert.deepEqual(
      container(t, "sensor").volumeMounts?.map((m) => m.mountPath),
      ["/data"],
    );
    assert.match(
      warningsAbout(t, "Volumes./etc/grafana/provisioning")[0] ?? "",
      /image's own files at this path stay visible/,
    );
    assert.match(warningsAbout(t, "Mounts[0]")[0] ?? "", /anonymous volume/);
  });

  it("Tmpfs and tmpfs Mounts → memory emptyDir with the size", () => {
    const t = one({
      HostConfig: {
        Tmpfs: { "/tmp": "rw,noexec,size=64m" },
        Mounts: [{ Type: "tmpfs", Target: "/run", TmpfsOptions: { SizeBytes: 1048576 } }],
      },
    });
    assert.deepEqual(podSpec(t, "sensor").volumes, [
      { name: "scratch-0", emptyDir: { medium: "Memory", sizeLimit: "1048576" } },
      { name: "scratch-1", emptyDir: { medium: "Memory", sizeLimit: "67108864" } },
    ]);
  });

  it("refuses what Docker refuses on Linux, saying why: Windows paths, relative sources, unknown bind options", () => {
    assert.match(
      problems(
        manifest({ modules: { db: userModule("crate:3", { HostConfig: { Binds: ["C:/Dev/crate/data:/data"] } }) } }),
      ).join(),
      /HostConfig\.Binds\[0\]: "C:\/Dev\/crate\/data:\/data": is a Windows host path: Kubernetes runs these modules on Linux nodes/,
    );
    assert.match(
      problems(manifest({ modules: { db: userModule("a/b:1", { HostConfig: { Binds: ["./data:/data"] } }) } })).join(),
      /"\.\/data" is neither an absolute host path nor a Docker volume name/,
    );
    assert.match(
      problems(manifest({ modules: { db: userModule("a/b:1", { HostConfig: { Binds: ["/d:/d:fast"] } }) } })).join(),
      /unknown option "fast"/,
    );
    assert.match(
      problems(
        manifest({
          modules: {
            db: userModule("a/b:1", {
              HostConfig: { Mounts: [{ Type: "npipe", Source: "\\\\.\\pipe\\x", Target: "/x" }] },
            }),
          },
        }),
      ).join(),
      /Mounts\[0\]\.Type: npipe mounts are for Windows containers/,
    );
  });
});

describe("translate: claims (Docker volumes → PersistentVolumeClaims)", () => {
  it('one claim per volume, shared by modules, with the configured size and class ("" means none)', () => {
    const t = render(
      manifest({
        modules: {
          a: userModule("x/a:1", { HostConfig: { Mounts: [{ Type: "volume", Source: "shared", Target: "/shared" }] } }),
          b: userModule("x/b:1", { HostConfig: { Binds: ["shared:/in"] } }),
        },
      }),
      { volumeSize: "5Gi", storageClassName: "" },
    );
    assert.equal(t.objects.filter((o) => o.kind === "PersistentVolumeClaim").length, 1);
    assert.equal(claim(t, "shared").spec?.storageClassName, "");
    assert.deepEqual(claim(t, "shared").spec?.resources?.requests, { storage: "5Gi" });
    assert.equal(
      claim(render(manifest({ modules: { a: userModule("x/a:1", { HostConfig: { Binds: ["vol:/v"] } }) } })), "vol")
        .spec?.storageClassName,
      undefined,
    );
  });

  it("binds claims to pre-made volumes by name (volumeNameFromSource) and takes ReadOnlyMany", () => {
    const t = render(
      manifest({ modules: { a: userModule("x/a:1", { HostConfig: { Binds: ["models:/models:ro"] } }) } }),
      {
        volumeNameFromSource: true,
        volumeAccessMode: "ReadOnlyMany",
      },
    );
    assert.equal(claim(t, "models").spec?.volumeName, "models");
    assert.deepEqual(claim(t, "models").spec?.accessModes, ["ReadOnlyMany"]);
    assert.equal(deployment(t, "a").spec?.strategy, undefined);
  });

  it("k8s-experimental.persistentVolumeClaims sets a volume's claim (keys any case, quantities checked)", () => {
    const t = one({
      HostConfig: { Binds: ["store:/store"] },
      "k8s-experimental": {
        PersistentVolumeClaims: {
          store: {
            AccessModes: ["readwritemany"],
            StorageClassName: "",
            VolumeName: "pv-store",
            Resources: { Requests: { storage: "20Gi" } },
          },
        },
      },
    });
    assert.deepEqual(claim(t, "store").spec, {
      accessModes: ["ReadWriteMany"],
      storageClassName: "",
      volumeName: "pv-store",
      resources: { requests: { storage: "20Gi" } },
    });
    assert.equal(deployment(t, "sensor").spec?.strategy, undefined);
    assert.match(
      problems(
        manifest({
          modules: {
            s: userModule("a/b:1", {
              HostConfig: { Binds: ["store:/store"] },
              "k8s-experimental": {
                persistentVolumeClaims: { store: { resources: { requests: { storage: "20GB" } } } },
              },
            }),
          },
        }),
      ).join(),
      /persistentVolumeClaims\.store\.resources\.requests\.storage: must be a Kubernetes quantity/,
    );
  });

  it("RWX claims keep the rolling update strategy; k8s-experimental.strategy wins, with rollingUpdate", () => {
    const t = render(manifest({ modules: { a: userModule("x/a:1", { HostConfig: { Binds: ["vol:/v"] } }) } }), {
      volumeAccessMode: "ReadWriteMany",
    });
    assert.equal(deployment(t, "a").spec?.strategy, undefined);
    assert.deepEqual(
      deployment(
        one({
          "k8s-experimental": {
            strategy: { type: "rollingupdate", rollingUpdate: { maxSurge: 0, maxUnavailable: "1" } },
          },
          HostConfig: { Binds: ["vol:/v"] },
        }),
        "sensor",
      ).spec?.strategy,
      { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
    );
  });
});
