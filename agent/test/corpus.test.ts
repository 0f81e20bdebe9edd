import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cli } from "./fixtures/cli.ts";
import { PARENT_HOSTNAME, corpus } from "./fixtures/corpus.ts";
import { claim, container, deployment, envOf, podSpec, render, service } from "./fixtures/render.ts";
import type { Translation } from "../src/translate/translate.ts";

const manifests = corpus();
const rendered = new Map(manifests.map((m) => [m.name, render(m.input, { parentHostname: PARENT_HOSTNAME })]));
const t = (name: string): Translation => rendered.get(name)!;

describe("fidelity corpus: every manifest validates and renders", () => {
  it("has at least 30 manifests", () => {
    assert.ok(manifests.length >= 30, `${manifests.length} manifests`);
  });

  for (const m of manifests) {
    it(`${m.name}: edgek8s validate accepts it`, async () => {
      const result = await cli("validate", m.file, "--parent-hostname", PARENT_HOSTNAME);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.ok(t(m.name).objects.some((o) => o.kind === "Deployment" && o.metadata.name === "edgehub"));
    });
  }
});

describe("fidelity corpus: what each manifest relies on works", () => {
  it("every module is reachable by its name (a headless Service per module)", () => {
    for (const [name, translation] of rendered) {
      for (const module of translation.modules) {
        assert.equal(service(translation, module.k8sName).spec?.clusterIP, "None", `${name}: ${module.id}`);
      }
    }
  });

  it("metrics-collector scrapes edgeHub by name; testResultCoordinator and classifier are called by name", () => {
    assert.match(
      envOf(t("metrics-collector"), "metricscollector")["MetricsEndpointsCSV"] ?? "",
      /http:\/\/edgeHub:9600/,
    );
    assert.ok(service(t("metrics-collector"), "edgehub"));
    assert.ok(service(t("connectivity-test"), "testresultcoordinator"));
    assert.ok(service(t("camera-classifier"), "classifier"));
  });

  it('host-network LoRa modules: packet forwarder on the host network, privileged (also from "true")', () => {
    assert.equal(podSpec(t("lorawan-gateway"), "lorawanpktfwdmodule").hostNetwork, true);
    assert.equal(container(t("lorawan-gateway"), "lorawanpktfwdmodule").securityContext?.privileged, true);
    assert.equal(container(t("lorawan-basics-station"), "lorabasicsstationmodule").securityContext?.privileged, true);
    assert.equal(envOf(t("lorawan-basics-station"), "lorawannetworksrvmodule")["USE_BASIC_STATION"], "true");
  });

  it("video analytics: host IPC keeps the host's /dev/shm; the RTSP simulator keeps its volume and port 554", () => {
    assert.equal(podSpec(t("video-analytics"), "avaedge").hostIPC, true);
    assert.equal(
      podSpec(t("video-analytics"), "avaedge").volumes?.some((v) => v.name === "dshm"),
      false,
    );
    assert.ok(claim(t("video-analytics"), "media"));
    assert.deepEqual(
      service(t("video-analytics"), "rtspsim-published").spec?.ports?.map((p) => p.port),
      [554],
    );
    assert.equal(podSpec(t("spatial-analysis-gpu"), "spatialanalysis").runtimeClassName, "nvidia");
  });

  it("nested IoT Edge: $upstream images come from the configured parent", () => {
    assert.equal(container(t("nested-child"), "relayer").image, `${PARENT_HOSTNAME}:443/azureiotedge-relayer:1.5`);
    assert.equal(container(t("nested-child"), "edgehub").image, `${PARENT_HOSTNAME}:443/azureiotedge-hub:1.5`);
  });

  it("loosely written: lowercase keys, strings for numbers and booleans, chunks, 1.0 startupOrder", () => {
    const loose = container(t("loosely-written"), "loose");
    assert.deepEqual(loose.args, ["--serve"]);
    assert.equal(loose.resources?.limits?.["memory"], "268435456");
    assert.equal(loose.securityContext, undefined);
    assert.deepEqual(
      service(t("loosely-written"), "loose-published").spec?.ports?.map((p) => [p.port, p.targetPort]),
      [[19090, 9090]],
    );
    assert.equal(deployment(t("loosely-written"), "loose").metadata.annotations?.["edgek8s.io/startup-order"], "2");
    assert.equal(envOf(t("loosely-written"), "loose")["FLAG"], "");
    assert.equal(container(t("newtonsoft-syntax"), "camera").securityContext?.privileged, true);
  });

  it("k8s-experimental: typed pod settings and claims", () => {
    const spec = podSpec(t("k8s-experimental"), "historian");
    assert.equal(spec.tolerations?.[0]?.operator, "Exists");
    assert.equal(spec.securityContext?.runAsUser, 1000);
    assert.deepEqual(claim(t("k8s-experimental"), "models").spec?.accessModes, ["ReadOnlyMany"]);
    assert.equal(claim(t("k8s-experimental"), "models").spec?.storageClassName, "");
    assert.equal(service(t("k8s-experimental"), "historian-published").spec?.type, "NodePort");
    assert.equal(service(t("fpga-inference"), "resnet-published").spec?.loadBalancerIP, "100.23.201.78");
  });
});
