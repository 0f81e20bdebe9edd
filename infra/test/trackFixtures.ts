// A stack with tracks and a ring plan, and five stacks IoT Hub would refuse (limits.test.ts; the
// numbers in docs/benchmarks.md).
import { existsSync, readFileSync } from "node:fs";
import { loadStackInputs } from "../inputs.ts";
import { ROOT } from "./fixtures.ts";

export const read = (path: string) =>
  path.endsWith("kubeconfig") ? "kind: Config" : existsSync(path) ? readFileSync(path, "utf8") : undefined;

/** An Azure stack with a base track, a layer track and a ring plan; `change` makes it bad. */
export function trackStack(change: (v: Record<string, unknown>) => void = () => undefined): Record<string, unknown> {
  const values: Record<string, unknown> = {
    hub: { mode: "azure", name: "contoso-edge-prod", resourceGroup: "prod", location: "westeurope", sku: "S1" },
    clusters: { "plant-west": { kubeconfig: "kubeconfig" } },
    devices: {
      "line1-gw": { cluster: "plant-west", tags: { site: "west", ring: "canary", camera: true } },
      "line2-gw": { cluster: "plant-west", tags: { site: "west" } },
      "till-1": { cluster: "plant-west", tags: { site: "shop" } },
    },
    tracks: {
      factory: { manifest: "deployments/factory-gateway.json", target: "tags.site='west'", retain: 2 },
      vision: {
        manifest: "infra/test/tracks/vision-layer.json",
        target: "tags.site='west' AND tags.camera = true",
        layer: true,
      },
    },
    rollout: {
      rings: [
        { name: "canary", select: "tags.ring='canary'", bake: "15m", maxFailures: 0 },
        { name: "early", percent: 10, bake: "30m" },
        { name: "all", percent: 100 },
      ],
      gates: { applyTimeout: "10m" },
    },
  };
  change(values);
  return values;
}

export const tracks = (v: Record<string, unknown>) => v["tracks"] as Record<string, Record<string, unknown>>;

export function issuesOf(values: Record<string, unknown>): string[] {
  const loaded = loadStackInputs(values, ROOT, read, {}, "edgek8s.prod");
  return loaded.ok ? [] : loaded.issues.map((i) => `${i.key}: ${i.message}`);
}

/** Five stacks IoT Hub would refuse, each with what preview must say. */
export const BAD_STACKS: [string, (v: Record<string, unknown>) => void, RegExp[]][] = [
  [
    "more deployments than a Free hub holds",
    (v) => {
      (v["hub"] as Record<string, unknown>)["sku"] = "F1";
      tracks(v)["shop"] = { manifest: "deployments/quickstart.json", target: "tags.site='shop'", retain: 3 };
    },
    [/^edgek8s:tracks: tracks × \(stable \+ retain \+ 1 in flight\) need 13 deployments; IoT Hub F1 allows 10$/],
  ],
  [
    "a layer that is a whole base deployment",
    (v) => (tracks(v)["vision"]!["manifest"] = "deployments/quickstart.json"),
    [
      /^edgek8s:tracks\.vision\.manifest: \$edgeAgent sets the whole properties\.desired, which is a base deployment, not a layer$/,
      /^edgek8s:tracks\.vision\.manifest: the layer sets no \$edgeAgent properties\.desired\.modules\.<id>/,
    ],
  ],
  [
    "six custom metrics and a double-quoted target",
    (v) => {
      const factory = tracks(v)["factory"]!;
      factory["target"] = `tags.site="west"`;
      factory["metrics"] = Object.fromEntries(
        ["a", "b", "c", "d"].map((m) => [m, `SELECT deviceId FROM devices WHERE tags.${m} = 1`]),
      );
    },
    [
      /^edgek8s:tracks\.factory\.metrics: 4 custom metrics \+ edgek8s's 2 exceed IoT Hub's 5$/,
      /^edgek8s:tracks\.factory\.target: IoT Edge target conditions take single-quoted strings only$/,
    ],
  ],
  [
    "two base tracks on one device",
    (v) => (tracks(v)["line"] = { manifest: "deployments/quickstart.json", target: "deviceId = 'line1-gw'" }),
    [
      /^edgek8s:tracks\.line\.target: base tracks factory and line both target line1-gw; IoT Hub applies only one base per device — make the targets disjoint$/,
    ],
  ],
  [
    "a rollout polling faster than the hub's query budget",
    (v) => ((v["rollout"] as Record<string, unknown>)["pollInterval"] = "5s"),
    [
      /^edgek8s:rollout\.pollInterval: 48\.0 queries a minute exceed half of the hub's 20\/min query throttle; poll less often$/,
    ],
  ],
];
