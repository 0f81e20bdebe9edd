import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { manifest, readExample, userModule } from "./fixtures/manifests.ts";
import {
  DEVICE,
  HUB_HOST,
  NAMESPACE,
  container,
  deployment,
  envOf,
  hasObject,
  one,
  podSpec,
  problems,
  render,
  secret,
  service,
  warningsAbout,
} from "./fixtures/render.ts";

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

  it("names edgeHub `edgehub` on the device network (headless) and publishes its bound ports separately", () => {
    const name = service(t, "edgehub");
    assert.equal(name.spec?.clusterIP, "None");
    assert.equal(name.spec.publishNotReadyAddresses, true);
    assert.deepEqual(name.spec.selector, { "edgek8s.io/device": DEVICE, "edgek8s.io/module": "edgehub" });
    const published = service(t, "edgehub-published");
    assert.deepEqual(
      published.spec?.ports?.map((p) => [p.name, p.port, p.targetPort, p.protocol]),
      [
        ["tcp-443", 443, 443, "TCP"],
        ["tcp-5671", 5671, 5671, "TCP"],
        ["tcp-8883", 8883, 8883, "TCP"],
      ],
    );
    assert.equal(published.spec.type, "ClusterIP");
    assert.deepEqual(published.spec.selector, name.spec.selector);
  });

  it("injects the runtime's variables: the gateway host for user modules, EdgeDeviceHostName for edgeHub", () => {
    assert.deepEqual(envOf(t, "simulatedtemperaturesensor"), {
      RuntimeLogLevel: "Information",
      IOTEDGE_IOTHUBHOSTNAME: HUB_HOST,
      IOTEDGE_DEVICEID: DEVICE,
      IOTEDGE_MODULEID: "SimulatedTemperatureSensor",
      IOTEDGE_GATEWAYHOSTNAME: "edgehub",
    });
    assert.equal(envOf(t, "edgehub")["IOTEDGE_MODULEID"], "$edgeHub");
    assert.equal(envOf(t, "edgehub")["EdgeDeviceHostName"], "edgehub");
    assert.equal("IOTEDGE_GATEWAYHOSTNAME" in envOf(t, "edgehub"), false);
    assert.equal("IOTEDGE_WORKLOADURI" in envOf(t, "edgehub"), false);
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
      ["ServiceAccount", "ServiceAccount", "Service", "Service", "Service", "Deployment", "Deployment"],
    );
    assert.deepEqual(render(readExample("quickstart.json")), t);
  });
});

describe("translate: Docker-network parity (every module by its name, on every port)", () => {
  it("gives every module a headless Service named after it, ports or not, listing the ports it knows", () => {
    const t = render(
      manifest({
        modules: {
          rtspsim: userModule("mcr.microsoft.com/lva-utilities/rtspsim-live555:1.2"),
          classifier: userModule("contoso.azurecr.io/classifier:1", { ExposedPorts: { "80/tcp": {}, "53/udp": {} } }),
        },
      }),
    );
    const rtsp = service(t, "rtspsim");
    assert.equal(rtsp.spec?.clusterIP, "None");
    assert.equal(rtsp.spec.ports, undefined);
    assert.equal(hasObject(t, "Service", "rtspsim-published"), false);
    assert.deepEqual(
      service(t, "classifier").spec?.ports?.map((p) => [p.name, p.port, p.protocol]),
      [
        ["udp-53", 53, "UDP"],
        ["tcp-80", 80, "TCP"],
      ],
    );
  });

  it("edgeHub answers as edgehub on 5671/8883/443 with no PortBindings at all", () => {
    const t = render(manifest({ edgeHubCreateOptions: {} }));
    assert.equal(service(t, "edgehub").spec?.clusterIP, "None");
    assert.equal(hasObject(t, "Service", "edgehub-published"), false);
  });

  it("PortBindings are the published Service: HostPort → port, container port → targetPort, configured type", () => {
    const t = render(
      manifest({
        edgeHubCreateOptions: {
          HostConfig: {
            PortBindings: {
              "8883/tcp": [{ HostPort: "18883" }],
              "5671/tcp": [{ HostPort: "5671" }],
              "443/tcp": [{ HostPort: 8443 }],
            },
          },
        },
      }),
      { serviceType: "LoadBalancer" },
    );
    const s = service(t, "edgehub-published");
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
      [443, 5671, 8883],
    );
    assert.equal(service(t, "edgehub").spec?.clusterIP, "None");
  });

  it("k8s-experimental.serviceOptions sets the published type (any case) and loadBalancerIP", () => {
    const t = one({
      HostConfig: { PortBindings: { "80/tcp": [{ HostPort: "80" }] } },
      "k8s-experimental": { ServiceOptions: { Type: "loadbalancer", LoadBalancerIP: "10.0.0.9" } },
    });
    assert.equal(service(t, "sensor-published").spec?.type, "LoadBalancer");
    assert.equal(service(t, "sensor-published").spec?.loadBalancerIP, "10.0.0.9");
  });

  it("Docker network aliases are more names for the module; a Docker network of its own is reported", () => {
    const t = one({
      NetworkingConfig: {
        EndpointsConfig: { "azure-iot-edge": { Aliases: ["scanner.plant.local", "sensor"] }, plantnet: {} },
      },
    });
    assert.equal(service(t, "scanner-plant-local").spec?.clusterIP, "None");
    assert.deepEqual(service(t, "scanner-plant-local").spec?.selector, service(t, "sensor").spec?.selector);
    assert.match(
      warningsAbout(t, "EndpointsConfig.plantnet")[0] ?? "",
      /Docker network "plantnet" does not exist on Kubernetes/,
    );
    assert.match(
      problems(
        manifest({
          modules: {
            a: userModule("x/a:1", { NetworkingConfig: { EndpointsConfig: { "azure-iot-edge": { Aliases: ["b"] } } } }),
            b: userModule("x/b:1"),
          },
        }),
      ).join(),
      /network alias "b" of "a" and module id "b" both become the Kubernetes name "b"/,
    );
  });

  it("warns that HostIp cannot be honoured, naming the binding", () => {
    const t = one({ HostConfig: { PortBindings: { "1680/udp": [{ HostPort: "1680", HostIp: "172.17.0.1" }] } } });
    assert.match(warningsAbout(t, "PortBindings.1680/udp[0].HostIp")[0] ?? "", /cannot publish on one host address/);
    assert.equal(
      warningsAbout(one({ HostConfig: { PortBindings: { "80/tcp": [{ HostIp: "0.0.0.0" }] } } }), "HostIp").length,
      0,
    );
  });

  it("warns when a module id is not a DNS name, naming the name that resolves", () => {
    const t = render(
      manifest({ modules: { OPC_Publisher: userModule("mcr.microsoft.com/iotedge/opc-publisher:2.9") } }),
    );
    assert.ok(service(t, "opc-publisher"));
    assert.match(
      warningsAbout(t, "modules.OPC_Publisher")[0] ?? "",
      /module id "OPC_Publisher" is not a DNS name: other modules reach it as "opc-publisher"/,
    );
    assert.equal(warningsAbout(render(manifest()), "SimulatedTemperatureSensor").length, 0);
  });

  it("refuses a module whose name takes another module's published Service name", () => {
    assert.match(
      problems(
        manifest({
          modules: {
            web: userModule("a/web:1", { HostConfig: { PortBindings: { "80/tcp": [{ HostPort: "80" }] } } }),
            "web-published": userModule("a/other:1"),
          },
        }),
      ).join("\n"),
      /the published Service of "web" and module id "web-published" both become the Kubernetes name "web-published"|module id "web-published" and the published Service of "web"/,
    );
  });
});

describe("translate: module settings", () => {
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

  it("Docker Labels → pod and Service annotations; keys Kubernetes refuses are rewritten, not dropped", () => {
    const t = one({
      ExposedPorts: { "80/tcp": {} },
      Labels: { "com.contoso.line": "3", "bad key!": "x", "Team/Owner": "ops" },
    });
    const annotations = deployment(t, "sensor").spec?.template.metadata?.annotations ?? {};
    assert.equal(annotations["com.contoso.line"], "3");
    assert.equal(annotations["bad_key"], "x");
    assert.equal(annotations["team/Owner"], "ops");
    assert.equal(service(t, "sensor").metadata.annotations?.["com.contoso.line"], "3");
    assert.match(warningsAbout(t, "Labels.bad key!")[0] ?? "", /written as "bad_key"/);
  });

  it("imagePullPolicy: on-create → IfNotPresent, never → Never", () => {
    assert.equal(container(one({}), "sensor").imagePullPolicy, "IfNotPresent");
    assert.equal(container(one({}, { imagePullPolicy: "never" }), "sensor").imagePullPolicy, "Never");
  });

  it("restart policies a Deployment cannot honour are reported; no restartPolicy means on-unhealthy", () => {
    assert.match(warningsAbout(one({}, { restartPolicy: "never" }), "restartPolicy")[0] ?? "", /after any exit/);
    assert.match(warningsAbout(one({}, { restartPolicy: "on-failure" }), "restartPolicy")[0] ?? "", /after any exit/);
    assert.match(
      warningsAbout(one({}, { restartPolicy: "on-unhealthy" }), "restartPolicy")[0] ?? "",
      /without a Healthcheck/,
    );
    assert.match(warningsAbout(one({}, { restartPolicy: undefined }), "restartPolicy")[0] ?? "", /"on-unhealthy"/);
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
