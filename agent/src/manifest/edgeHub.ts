import { type Findings, sinkFor } from "./createOptions.ts";
import { type JsonPath, issue } from "./issues.ts";
import type { EdgeHubConfig, Route } from "./model.ts";
import { checkRoute } from "./routes.ts";
import { edgeHubMinor } from "./schema.ts";
import { isRecord, read } from "./shape/read.ts";
import { t } from "./shape/shape.ts";
import { compareText } from "../runtime/canonical.ts";

/**
 * `$edgeHub` desired properties, as edgeHub reads them (edge-hub/core/src/Microsoft.Azure.Devices.Edge.Hub.Core/
 * config/EdgeHubDesiredProperties_1_0.cs … _1_3.cs, RouteSpec.cs, RouteSpecConverter.cs): 1.0 routes are
 * strings (an empty one is skipped); from 1.1 a route may be `{route, priority 0-9, timeToLiveSecs}`;
 * 1.2 adds `mqttBroker`, 1.3 `integrity`.
 */
const edgeHubShape = t.object(
  {
    schemaVersion: t.string(),
    routes: t.map(t.json()),
    storeAndForwardConfiguration: t.object({ timeToLiveSecs: t.integer({ min: 0, max: 4294967295 }) }),
    mqttBroker: t.json(),
    integrity: t.ignored(
      "manifest signatures are not verified by edgek8s; edgeHub does that itself when it reads its twin",
    ),
    $version: t.json(),
    $metadata: t.json(),
  },
  { kind: "warn", hint: () => "unknown key, ignored" },
);

const routeShape = t.object(
  {
    route: t.string(),
    priority: t.integer({ min: 0, max: 4294967295 }),
    timeToLiveSecs: t.integer({ min: 0, max: 4294967295 }),
  },
  { kind: "warn", hint: () => "unknown key, ignored (edgeHub reads route, priority and timeToLiveSecs)" },
);

/** edgeHub's "no priority given" (RouteFactory.DefaultPriority); anything else must be 0 to 9. */
const DEFAULT_PRIORITY = 2000000000;

function readRoute(name: string, value: unknown, minor: number, base: JsonPath, found: Findings): Route | undefined {
  const at = [...base, name];
  if (typeof value === "string") {
    if (value.trim() === "") {
      if (minor === 0) return undefined;
      found.issues.push(issue(at, "must not be empty (edgeHub 1.1 and later refuse an empty route)"));
      return undefined;
    }
    const check = checkRoute(value);
    if (!check.ok) found.issues.push(issue(at, check.message));
    return { name, route: value, priority: undefined, timeToLiveSecs: undefined };
  }
  if (minor === 0) {
    found.issues.push(issue(at, 'must be a route string: route objects need $edgeHub schemaVersion "1.1" or later'));
    return undefined;
  }
  if (!isRecord(value)) {
    found.issues.push(issue(at, "must be a route string or {route, priority, timeToLiveSecs}"));
    return undefined;
  }
  const spec = read(value, routeShape, at, sinkFor(found));
  const routeKey = Object.keys(value).find((k) => k.toLowerCase() === "route") ?? "route";
  if (spec?.route === undefined || spec.route.trim() === "") {
    found.issues.push(issue([...at, routeKey], "is required: the route text"));
    return undefined;
  }
  const check = checkRoute(spec.route);
  if (!check.ok) found.issues.push(issue([...at, routeKey], check.message));
  const priority = spec.priority === DEFAULT_PRIORITY ? undefined : spec.priority;
  if (priority !== undefined && priority > 9) {
    found.issues.push(issue([...at, "priority"], `must be 0 to 9, not ${priority}`));
  }
  return { name, route: spec.route, priority, timeToLiveSecs: spec.timeToLiveSecs };
}

/** Reads `$edgeHub` desired properties whose schemaVersion has been accepted. */
export function readEdgeHub(doc: unknown, base: JsonPath, found: Findings): EdgeHubConfig | undefined {
  const before = found.issues.length;
  const hub = read(doc, edgeHubShape, base, sinkFor(found));
  if (!hub) return undefined;
  const schemaVersion = hub.schemaVersion ?? "";
  const minor = edgeHubMinor(schemaVersion);
  if (hub.routes === undefined && minor > 0 && !found.issues.some((i) => i.path.endsWith(".routes"))) {
    found.issues.push(issue([...base, "routes"], "is required (an object of named routes; {} for none)"));
  }
  const routes: Route[] = [];
  for (const [name, value] of Object.entries(hub.routes ?? {})) {
    const route = readRoute(name, value, minor, [...base, "routes"], found);
    if (route) routes.push(route);
  }
  if (found.issues.length > before) return undefined;
  return {
    schemaVersion,
    routes: routes.sort((a, b) => compareText(a.name, b.name)),
    storeAndForwardTimeToLiveSecs: hub.storeAndForwardConfiguration?.timeToLiveSecs,
  };
}
