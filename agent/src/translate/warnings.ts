import { type JsonPath, type ManifestWarning, warning } from "../manifest/issues.ts";
import type { ModuleSpec } from "../manifest/model.ts";

/** Collects translation warnings with paths relative to the module they concern. */
export class Warnings {
  readonly list: ManifestWarning[] = [];

  add(module: ModuleSpec, path: readonly (string | number)[], message: string): void {
    const suffix = path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("");
    this.list.push({ path: `${module.path}${suffix}`, message });
  }

  /** At a full JSON path (mounts and port bindings carry theirs). */
  at(path: JsonPath, message: string): void {
    this.list.push(warning(path, message));
  }

  /** A createOptions field: `path` starts inside createOptions. */
  addCreateOption(module: ModuleSpec, path: readonly (string | number)[], message: string): void {
    this.add(module, ["settings", "createOptions", ...path], message);
  }
}
