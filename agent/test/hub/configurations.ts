// The hub double's configurations API (IoT Edge deployments are configurations whose content is
// `modulesContent`), one operation entry each with the right it needs. Sources, per behaviour:
//   - paths and bodies: learn.microsoft.com/rest/api/iothub/service/configuration (api-version
//     2021-04-12) and azure-iothub `src/registry.ts` (`addConfiguration`, `getConfiguration`,
//     `getConfigurations`, `updateConfiguration`, `removeConfiguration`); "Configuration identifier and
//     Content cannot be updated"; "Get Configurations … Pagination is not supported";
//   - rights: configurations belong to the registry side of the hub (the Entra data actions are
//     `configurations/read|write|delete` and `configurations/testQueries/action`, next to `devices/*`,
//     not `twins/*`), so reads need RegistryRead and writes RegistryWrite (ROLLOUT.md §A5 #5 is open);
//   - throttle: "Configurations and edge deployments (create, update, list, delete)" 20/min/unit on every
//     tier (iot-hub-devguide-quotas-throttling.md); a single GET is not in that list;
//   - count: 413 ConfigurationCountLimitExceeded "Number of deployments exceed the maximum quota 100 for
//     this IotHub" (MicrosoftDocs/azure-docs#94528; error 413101 in the IoT Hub error-code table);
//   - [3p, ROLLOUT.md H15, checked against a live hub] create is a PUT without If-Match and answers 409
//     ConfigurationAlreadyExists for an existing id; only a *quoted* If-Match makes the PUT an update —
//     an unquoted one is treated as absent, hence the "misleading 409"; an update must carry `content`
//     (400 InvalidConfigurationContent) and a changed content is answered 200 while the old one is kept;
//     `modulesContent` needs `$edgeAgent` and may not be mixed with other content (400
//     InvalidConfigurationContent); DELETE works without If-Match;
//   - id and label character rules, target-condition rules: agent/src/releases/naming.ts and condition.ts
//     (with their sources); "up to five" custom metrics (iot-hub-automatic-device-management.md, 2018).
import { targetConditionProblem } from "../../src/releases/condition.ts";
import { configurationIdProblem, labelProblem } from "../../src/releases/naming.ts";
import { canonicalJson } from "../../src/runtime/canonical.ts";
import { HttpError, type HubState, type Operation, type OperationRequest, type Reply } from "./hubState.ts";
import { type ConfigurationRecord, newCreatedTime, newEtag } from "./records.ts";
import type { HubSettings } from "./settings.ts";
import { parseTwinQuery } from "./twinQuery.ts";

const CONTENT_KINDS = ["modulesContent", "moduleContent", "deviceContent"];
const MAX_CUSTOM_METRICS = 5;
const MAX_PRIORITY = 2 ** 31 - 1;

/**
 * IoT Hub's own metric queries for a deployment, exactly as the Azure CLI's fixture of a live hub
 * shows them (test_config_modules_show.json): results keyed `targetedCount`, `appliedCount`,
 * `reportedSuccessfulCount`, `reportedFailedCount`. The target condition is spliced in as is, without
 * parentheses, as in the captured responses; "" leaves the Targeted query empty.
 */
export function systemMetricQueries(id: string, targetCondition: string): Record<string, string> {
  const applied = `select deviceId from devices.modules where moduleId = '$edgeAgent' and configurations.[[${id}]].status = 'Applied'`;
  const reported = `${applied} and properties.desired.$version = properties.reported.lastDesiredVersion and properties.reported.lastDesiredStatus.code`;
  return {
    targetedCount:
      targetCondition.trim() === ""
        ? ""
        : `select deviceId from devices where capabilities.iotEdge = true and ${targetCondition}`,
    appliedCount: applied,
    reportedSuccessfulCount: `${reported} = 200`,
    reportedFailedCount: `${reported} != 200`,
  };
}

export function configurationJson(c: ConfigurationRecord): Record<string, unknown> {
  return {
    id: c.id,
    schemaVersion: c.schemaVersion,
    labels: c.labels,
    content: c.content,
    targetCondition: c.targetCondition,
    createdTimeUtc: c.createdTimeUtc,
    lastUpdatedTimeUtc: c.lastUpdatedTimeUtc,
    priority: c.priority,
    systemMetrics: { queries: systemMetricQueries(c.id, c.targetCondition), results: c.systemMetricResults },
    metrics: { queries: c.metrics, results: c.metricResults },
    etag: c.etag,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function bad(code: string, message: string): HttpError {
  return new HttpError(400, code, message);
}

/** Why a custom metric query would be refused, or undefined. */
export function metricQueryProblem(query: string, settings: HubSettings): string | undefined {
  try {
    parseTwinQuery(query, settings.groupByOnModules);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export function targetProblem(target: string, settings: HubSettings): string | undefined {
  if (target.trim() === "")
    return settings.emptyTarget === "refused" ? "the target condition may not be empty" : undefined;
  return targetConditionProblem(target);
}

/** The fields every create and update checks; the typed values, or a 400. */
function updatable(input: Record<string, unknown>, settings: HubSettings) {
  const labels = input["labels"] ?? {};
  if (!isObject(labels) || Object.values(labels).some((v) => typeof v !== "string"))
    throw bad("ArgumentInvalid", "labels must be an object of strings");
  for (const [key, value] of Object.entries(labels as Record<string, string>)) {
    const problem = labelProblem(key) ?? labelProblem(value);
    if (problem) throw bad("ArgumentInvalid", `label ${JSON.stringify(key)}: ${problem}`);
  }
  const targetCondition = input["targetCondition"] ?? "";
  if (typeof targetCondition !== "string") throw bad("InvalidConfigurationTargetCondition", "must be a string");
  const targetIssue = targetProblem(targetCondition, settings);
  if (targetIssue) throw bad("InvalidConfigurationTargetCondition", targetIssue);
  const priority = input["priority"] ?? 0;
  if (typeof priority !== "number" || !Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY)
    throw bad("ArgumentInvalid", `priority must be a whole number from 0 to ${MAX_PRIORITY}`);
  const metricsIn = input["metrics"];
  const queries = isObject(metricsIn) && isObject(metricsIn["queries"]) ? metricsIn["queries"] : {};
  if (Object.keys(queries).length > MAX_CUSTOM_METRICS)
    throw bad("InvalidConfigurationCustomMetricsQuery", `at most ${MAX_CUSTOM_METRICS} custom metrics`);
  for (const [name, query] of Object.entries(queries)) {
    const problem = typeof query === "string" ? metricQueryProblem(query, settings) : "must be a string";
    if (problem) throw bad("InvalidConfigurationCustomMetricsQuery", `metric ${name}: ${problem}`);
  }
  const schemaVersion = typeof input["schemaVersion"] === "string" ? input["schemaVersion"] : "1.0";
  return {
    labels: labels as Record<string, string>,
    targetCondition,
    priority,
    metrics: queries as Record<string, string>,
    schemaVersion,
  };
}

function contentOf(input: Record<string, unknown>): Record<string, unknown> {
  const content = input["content"];
  if (!isObject(content)) throw bad("InvalidConfigurationContent", "the configuration needs content");
  const kinds = CONTENT_KINDS.filter((k) => content[k] !== undefined);
  if (kinds.length !== 1 || Object.keys(content).some((k) => !CONTENT_KINDS.includes(k)))
    throw bad("InvalidConfigurationContent", `content holds exactly one of ${CONTENT_KINDS.join(", ")}`);
  const modules = content["modulesContent"];
  if (modules !== undefined && (!isObject(modules) || !isObject(modules["$edgeAgent"])))
    throw bad("InvalidConfigurationContent", "modulesContent must contain $edgeAgent");
  return content;
}

function create(hub: HubState, id: string, input: Record<string, unknown>): Reply {
  const idProblem = configurationIdProblem(id);
  if (idProblem) throw bad("ArgumentInvalid", `configuration id ${JSON.stringify(id)}: ${idProblem}`);
  const content = contentOf(input);
  const fields = updatable(input, hub.settings);
  const max = hub.settings.maxConfigurations;
  if (hub.configurations.size >= max)
    throw new HttpError(
      413,
      "ConfigurationCountLimitExceeded",
      `Number of deployments exceed the maximum quota ${max} for this IotHub.`,
    );
  const created = newCreatedTime();
  const record: ConfigurationRecord = {
    id,
    ...fields,
    content: structuredClone(content),
    createdTimeUtc: created,
    lastUpdatedTimeUtc: created,
    metricResults: {},
    systemMetricResults: {},
    etag: newEtag(),
  };
  hub.configurations.set(id, record);
  hub.configurationsChanged();
  return [200, configurationJson(record)];
}

function update(hub: HubState, existing: ConfigurationRecord, input: Record<string, unknown>): Reply {
  const content = contentOf(input);
  const fields = updatable(input, hub.settings);
  if (canonicalJson(content) !== canonicalJson(existing.content)) hub.ignoredContentChanges.push(existing.id);
  Object.assign(existing, fields, { lastUpdatedTimeUtc: new Date().toISOString(), etag: newEtag() });
  hub.configurationsChanged();
  return [200, configurationJson(existing)];
}

function putConfiguration(hub: HubState, request: OperationRequest): Reply {
  const id = request.params["configurationId"] ?? "";
  const input = request.body;
  if (!input) throw bad("ArgumentInvalid", "the request needs a JSON body");
  if (input["id"] !== id) throw bad("ArgumentInvalid", "body id must match the path");
  const existing = hub.configurations.get(id);
  const quoted = /^"(.*)"$/.exec(request.ifMatch?.trim() ?? "")?.[1];
  if (quoted === undefined) {
    if (existing)
      throw new HttpError(409, "ConfigurationAlreadyExists", `a configuration with id ${id} already exists`);
    return create(hub, id, input);
  }
  if (!existing) throw new HttpError(404, "ConfigurationNotFound", `configuration ${id} not found`);
  if (quoted !== "*" && quoted !== existing.etag)
    throw new HttpError(412, "PreconditionFailed", `etag ${quoted} does not match the current ${existing.etag}`);
  return update(hub, existing, input);
}

function found(hub: HubState, id: string | undefined): ConfigurationRecord {
  const record = hub.configurations.get(id ?? "");
  if (!record) throw new HttpError(404, "ConfigurationNotFound", `configuration ${String(id)} not found`);
  return record;
}

function testQueries(hub: HubState, request: OperationRequest): Reply {
  const input = request.body ?? {};
  const target = typeof input["targetCondition"] === "string" ? input["targetCondition"] : "";
  const metrics = isObject(input["customMetricQueries"]) ? input["customMetricQueries"] : {};
  const customMetricQueryErrors: Record<string, string> = {};
  for (const [name, query] of Object.entries(metrics)) {
    const problem = typeof query === "string" ? metricQueryProblem(query, hub.settings) : "must be a string";
    if (problem) customMetricQueryErrors[name] = problem;
  }
  // Validation errors come back in a 200 body, not as a status [3p, H15].
  return [200, { targetConditionError: targetProblem(target, hub.settings) ?? "", customMetricQueryErrors }];
}

export const CONFIGURATION_OPERATIONS: readonly Operation[] = [
  {
    name: "testConfigurationQueries",
    method: "POST",
    path: "/configurations/testQueries",
    right: "RegistryRead",
    registry: false,
    handle: testQueries,
  },
  {
    name: "getConfiguration",
    method: "GET",
    path: "/configurations/{configurationId}",
    right: "RegistryRead",
    registry: false,
    handle: (hub, r) => [200, configurationJson(found(hub, r.params["configurationId"]))],
  },
  {
    name: "listConfigurations",
    method: "GET",
    path: "/configurations",
    right: "RegistryRead",
    registry: false,
    throttle: "configurations",
    handle: (hub, r) => {
      // `top` is capped at the hub's maximum deployment count (REST reference, get-configurations);
      // [3p, H15] saw it ignored. The provider lists without it.
      const top = Number.parseInt(r.query.get("top") ?? "", 10);
      const all = [...hub.configurations.values()].sort((a, b) => a.createdTimeUtc.localeCompare(b.createdTimeUtc));
      const limit = Number.isInteger(top) && top > 0 ? Math.min(top, hub.settings.maxConfigurations) : all.length;
      return [200, all.slice(0, limit).map(configurationJson)];
    },
  },
  {
    name: "putConfiguration",
    method: "PUT",
    path: "/configurations/{configurationId}",
    right: "RegistryWrite",
    registry: false,
    throttle: "configurations",
    handle: putConfiguration,
  },
  {
    name: "deleteConfiguration",
    method: "DELETE",
    path: "/configurations/{configurationId}",
    right: "RegistryWrite",
    registry: false,
    throttle: "configurations",
    handle: (hub, r) => {
      const record = found(hub, r.params["configurationId"]);
      const quoted = /^"(.*)"$/.exec(r.ifMatch?.trim() ?? "")?.[1];
      if (quoted !== undefined && quoted !== "*" && quoted !== record.etag)
        throw new HttpError(412, "PreconditionFailed", `etag ${quoted} does not match the current ${record.etag}`);
      hub.configurations.delete(record.id);
      hub.configurationsChanged();
      return [204, undefined];
    },
  },
];
