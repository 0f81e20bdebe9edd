import { setTimeout as sleep } from "node:timers/promises";
import type { ControlPlane } from "../cluster/controlPlane.ts";
import { waitFor } from "../cluster/processes.ts";
import type { KubeClient } from "../../agent/src/kube/client.ts";
import type { KubeObject } from "../../agent/src/kube/objects.ts";
import { RESOURCES } from "../../agent/src/kube/resources.ts";
import type { FleetWriter } from "./fleetWriter.ts";
import type { Random } from "./random.ts";
import type { Replicas } from "./replicas.ts";

export const FAULT_WEIGHTS = {
  "leader-kill": 2,
  "leader-stall": 2,
  "apiserver-restart": 1.5,
  "etcd-restart": 1,
  "hand-edit": 1.5,
  "invalid-spec": 1,
  "spec-churn": 1,
} as const;

export type FaultKind = keyof typeof FAULT_WEIGHTS;

export interface FaultContext {
  readonly rng: Random;
  readonly plane: ControlPlane;
  readonly admin: KubeClient;
  readonly replicas: Replicas;
  readonly fleet: FleetWriter;
  readonly leaseSeconds: number;
}

const HAND_EDITOR = "kubectl-edit";

/** A person with kubectl: changes an image, scales, or deletes a Service, ServiceAccount or Deployment. */
async function handEdit(ctx: FaultContext): Promise<string[]> {
  const { rng, admin, fleet } = ctx;
  const done: string[] = [];
  for (const device of rng.sample(
    fleet.devices.filter((d) => !d.invalid),
    rng.int(1, 3),
  )) {
    const ns = device.namespace;
    const module = rng.pick(["alpha", "beta", "delta"]);
    const edit = rng.pick(["image", "scale", "delete-service", "delete-serviceaccount", "delete-deployment"] as const);
    try {
      if (edit === "image" || edit === "scale") {
        type Live = KubeObject & {
          spec?: {
            selector?: unknown;
            template?: { metadata?: { labels?: unknown }; spec?: { containers?: { name: string }[] } };
          };
        };
        const live = await admin.get<Live>(RESOURCES.Deployment, ns, module);
        if (!live) continue;
        const name = live.spec?.template?.spec?.containers?.[0]?.name ?? module;
        await admin.apply(
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: module, namespace: ns },
            spec:
              edit === "scale"
                ? { replicas: 3 }
                : {
                    selector: live.spec?.selector,
                    template: {
                      metadata: { labels: live.spec?.template?.metadata?.labels },
                      spec: { containers: [{ name, image: "hand/edit:1" }] },
                    },
                  },
          },
          HAND_EDITOR,
        );
      } else {
        const type =
          edit === "delete-service"
            ? RESOURCES.Service
            : edit === "delete-serviceaccount"
              ? RESOURCES.ServiceAccount
              : RESOURCES.Deployment;
        // delta is the module with a Service (it exposes a port)
        await admin.delete(type, ns, edit === "delete-service" ? "delta" : module);
      }
      done.push(`${edit} ${ns}/${edit === "delete-service" ? "delta" : module}`);
    } catch {
      // the object is being replaced: nothing to edit this time
    }
  }
  return done;
}

async function apiAnswers(admin: KubeClient): Promise<void> {
  await waitFor(
    "the API server answering",
    async () => (await admin.list(RESOURCES.Namespace)).items.length > 0,
    120_000,
  );
}

/**
 * Injects one fault and clears it; returns what it did. Faults that last a while get spec churn
 * (and hand edits) while they last, so the replicas come back to work that changed under them.
 */
export async function inject(kind: FaultKind, ctx: FaultContext): Promise<string> {
  const { rng, plane, replicas, fleet, leaseSeconds } = ctx;
  switch (kind) {
    case "leader-kill": {
      const leader = await replicas.leader();
      if (!leader) return `no leader to kill; churned ${(await fleet.churn(rng.int(1, 4))).join(",")}`;
      await replicas.scrapeAll();
      replicas.kill(leader);
      const churned = await fleet.churn(rng.int(1, 4));
      await sleep(rng.int(1000, 5000));
      await replicas.start(leader);
      return `SIGKILL ${leader}, restarted; churned ${churned.join(",")}`;
    }
    case "leader-stall": {
      const leader = await replicas.leader();
      const process = leader ? replicas.process(leader) : undefined;
      if (!leader || !process) return `no leader to stall; churned ${(await fleet.churn(rng.int(1, 4))).join(",")}`;
      const stallMs = leaseSeconds * 1000 + rng.int(500, 4000);
      process.signal("SIGSTOP");
      const started = Date.now();
      const churned = await fleet.churn(rng.int(1, 4));
      const edits = await handEdit(ctx);
      await sleep(Math.max(0, stallMs - (Date.now() - started)));
      process.signal("SIGCONT");
      return `SIGSTOP ${leader} ${stallMs} ms; churned ${churned.join(",")}; ${edits.join(", ")}`;
    }
    case "apiserver-restart": {
      const before = await fleet.churn(rng.int(1, 3));
      const downMs = rng.int(2000, 15_000);
      await plane.stopApiServer();
      await sleep(downMs);
      await plane.startApiServer();
      const after = await fleet.churn(rng.int(1, 3));
      return `API server down ${downMs} ms; churned ${[...before, ...after].join(",")}`;
    }
    case "etcd-restart": {
      const etcd = plane.processes.find((p) => p.name === "etcd");
      if (!etcd) throw new Error("the control plane has no etcd process");
      const churned = await fleet.churn(rng.int(1, 3));
      const downMs = rng.int(2000, 8000);
      await etcd.stop();
      await sleep(downMs);
      etcd.start();
      await apiAnswers(ctx.admin);
      return `etcd down ${downMs} ms; churned ${churned.join(",")}`;
    }
    case "hand-edit":
      return (await handEdit(ctx)).join(", ");
    case "invalid-spec": {
      const fixed = fleet.invalid.length > 0 && rng.chance(0.5) ? await fleet.fixAll() : [];
      const broken = await fleet.breakSome(rng.int(1, 2), 3);
      return `broke ${broken.join(",") || "none"}; fixed ${fixed.join(",") || "none"}`;
    }
    case "spec-churn":
      return `churned ${(await fleet.churn(rng.int(3, 8))).join(",")}`;
  }
}
