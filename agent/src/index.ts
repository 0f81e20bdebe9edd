export { parseManifest, parseDesired, type ParseResult } from "./manifest/parse.ts";
export { locateDesiredDocuments } from "./manifest/document.ts";
export { desiredStatusFor, formatIssue, type ManifestIssue, type ManifestWarning } from "./manifest/issues.ts";
export type { DeploymentManifest, ModuleSpec } from "./manifest/model.ts";
export { translate, type Translation, type ManagedObject, KIND_ORDER } from "./translate/translate.ts";
export { MAX_PUBLISHED_PORTS, publishedPortNames } from "./translate/service.ts";
export {
  DEFAULT_TRANSLATION_DEFAULTS,
  type TranslationContext,
  type TranslationDefaults,
} from "./translate/context.ts";
export { deviceNamespace, hubName, k8sName } from "./naming/k8sName.ts";
export { edgeDeploymentCrd } from "./crd/crd.ts";
export { edgeReleaseCrd } from "./crd/edgeRelease.ts";
export { API_VERSION as EDGE_DEPLOYMENT_API_VERSION, KIND as EDGE_DEPLOYMENT_KIND } from "./crd/edgeDeployment.ts";
export type { EdgeDeploymentSpec, EdgeDeploymentStatus } from "./crd/edgeDeployment.ts";
export { DEVICE_CREDENTIALS_SECRET, DEVICE_CONNECTION_STRING_KEY } from "./hub/credentials.ts";
export { parseCondition, targetConditionProblem } from "./releases/condition.ts";
export { type JsonValue, matches } from "./releases/evaluate.ts";
export { isLayeredContent, type ModulesContent } from "./releases/merge.ts";
export { canonicalJson, compareText } from "./runtime/canonical.ts";
export {
  configurationIdProblem,
  contentHash12,
  deviceBucket,
  labelProblem,
  releaseId,
  trackNameProblem,
} from "./releases/naming.ts";
export { releasePriority, trackIndexes } from "./releases/priority.ts";
export { type LimitsProblem, deviceTags, limitsProblems } from "./releases/limits.ts";
export { type RolloutPlan, parseRolloutPlan } from "./rollout/plan.ts";
export { ROLLOUT_LABEL, STATIC_LABEL, isRolloutLabel, recordedState } from "./rollout/labels.ts";
export { TAGS_ANNOTATION } from "./releases/observed.ts";
export { isRecord } from "./manifest/shape/read.ts";
