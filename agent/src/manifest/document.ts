import { type JsonPath, type ManifestIssue, type ManifestWarning, issue, warning } from "./issues.ts";
import { isRecord } from "./shape/read.ts";

/** The two desired documents of a manifest and where each sits in the input, for error paths. */
export interface DesiredDocuments {
  readonly edgeAgent: unknown;
  readonly edgeHub: unknown;
  readonly edgeAgentPath: JsonPath;
  readonly edgeHubPath: JsonPath;
  /** Hub mode: edgeHub follows its own twin, so a missing $edgeHub document is not an error. */
  readonly edgeHubFromTwin?: boolean;
  /** What the file holds beside the two documents (module twins), reported but not read. */
  readonly warnings?: readonly ManifestWarning[];
}

const DESIRED = "properties.desired";

/**
 * Finds `$edgeAgent`/`$edgeHub` desired properties in the accepted file shapes:
 * IoT Hub's deployment format (`{modulesContent: …}`), a configuration as the Azure CLI prints it
 * (`{content: {modulesContent: …}}`), or the modules content itself (`{$edgeAgent, $edgeHub}`).
 */
export function locateDesiredDocuments(input: unknown): DesiredDocuments | ManifestIssue {
  if (!isRecord(input)) return issue([], "a deployment manifest must be a JSON object");
  let base: JsonPath = [];
  let content: unknown = input;
  if (isRecord(input["content"]) && "modulesContent" in input["content"]) {
    base = ["content", "modulesContent"];
    content = input["content"]["modulesContent"];
  } else if ("modulesContent" in input) {
    base = ["modulesContent"];
    content = input["modulesContent"];
  }
  if (!isRecord(content)) return issue(base, "must be an object holding $edgeAgent and $edgeHub");
  if (Object.keys(content).length === 0) {
    return issue(base, "the manifest is empty: it needs $edgeAgent and $edgeHub", "empty");
  }
  const agent = content["$edgeAgent"];
  const hub = content["$edgeHub"];
  if (agent === undefined) return issue(base, "missing $edgeAgent: the manifest has no modules to run", "empty");
  const edgeAgentPath = [...base, "$edgeAgent", DESIRED];
  const edgeHubPath = [...base, "$edgeHub", DESIRED];
  if (!isRecord(agent)) return issue([...base, "$edgeAgent"], 'must be an object with "properties.desired"');
  const layered = Object.keys(agent).find((k) => k.startsWith(`${DESIRED}.`));
  if (agent[DESIRED] === undefined && layered !== undefined) {
    return issue(
      [...base, "$edgeAgent", layered],
      "this is a layered deployment: IoT Hub applies it on top of a base deployment, so it cannot run on its own; give the base deployment's manifest merged with this layer",
    );
  }
  if (hub === undefined) return issue(base, "missing $edgeHub: edgeHub needs its routes");
  if (!isRecord(hub)) return issue([...base, "$edgeHub"], 'must be an object with "properties.desired"');
  const warnings = Object.keys(content)
    .filter((key) => key !== "$edgeAgent" && key !== "$edgeHub")
    .map((key) =>
      warning(
        [...base, key],
        "module twin desired properties: IoT Hub delivers them to the module in hub mode; edgek8s does not read them (the local mode has no module twins)",
      ),
    );
  return { edgeAgent: agent[DESIRED], edgeHub: hub[DESIRED], edgeAgentPath, edgeHubPath, warnings };
}
