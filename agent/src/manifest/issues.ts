/** A location in the input document: keys and array indices from its root. */
export type JsonPath = readonly (string | number)[];

/** Formats a path the way users read it: `modulesContent.$edgeAgent.properties.desired.modules.sensor`. */
export function formatPath(path: JsonPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out === "" ? "(root)" : out;
}

/**
 * What makes a manifest unusable, classified the way the Edge Agent reports it to IoT Hub:
 * 412 for a schema version it does not know, 417 for an empty manifest, 400 for everything else.
 */
export type IssueKind = "invalid" | "unknownSchemaVersion" | "empty";

export interface ManifestIssue {
  readonly path: string;
  readonly message: string;
  readonly kind: IssueKind;
}

/** Something accepted but not fully honoured (an unmapped createOptions field, a renamed env var). */
export interface ManifestWarning {
  readonly path: string;
  readonly message: string;
}

export function issue(path: JsonPath, message: string, kind: IssueKind = "invalid"): ManifestIssue {
  return { path: formatPath(path), message, kind };
}

export function warning(path: JsonPath, message: string): ManifestWarning {
  return { path: formatPath(path), message };
}

export function formatIssue(entry: { path: string; message: string }): string {
  return `${entry.path}: ${entry.message}`;
}

/** The `lastDesiredStatus` code and description for a set of issues (DESIGN §5, §7). */
export function desiredStatusFor(issues: readonly ManifestIssue[]): { code: number; description: string } {
  if (issues.length === 0) return { code: 200, description: "" };
  const code = issues.some((i) => i.kind === "empty")
    ? 417
    : issues.some((i) => i.kind === "unknownSchemaVersion")
      ? 412
      : 400;
  return { code, description: issues.map(formatIssue).join("; ") };
}
