export { parseManifest, parseDesired, type ParseResult } from "./manifest/parse.ts";
export { desiredStatusFor, formatIssue, type ManifestIssue, type ManifestWarning } from "./manifest/issues.ts";
export type { DeploymentManifest, ModuleSpec } from "./manifest/model.ts";
export { translate, type Translation, type ManagedObject, KIND_ORDER } from "./translate/translate.ts";
export {
  DEFAULT_TRANSLATION_DEFAULTS,
  type TranslationContext,
  type TranslationDefaults,
} from "./translate/context.ts";
export { deviceNamespace, hubName, k8sName } from "./naming/k8sName.ts";
