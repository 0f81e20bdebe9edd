import type { ManifestWarning } from "../manifest/issues.ts";
import type { ModuleSpec } from "../manifest/model.ts";

/** Collects translation warnings with paths relative to the module they concern. */
export class Warnings {
  readonly list: ManifestWarning[] = [];

  add(module: ModuleSpec, path: readonly (string | number)[], message: string): void {
    const suffix = path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("");
    this.list.push({ path: `${module.path}${suffix}`, message });
  }

  /** A createOptions field: `path` starts inside createOptions. */
  addCreateOption(module: ModuleSpec, path: readonly (string | number)[], message: string): void {
    this.add(module, ["settings", "createOptions", ...path], message);
  }
}
