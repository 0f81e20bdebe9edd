// The hub double's settings: the tier-dependent limits, and one switch per fact about IoT Hub
// deployments that only a real hub can settle (ROLLOUT.md §A5). Each switch defaults to what the best
// available evidence says; a test that depends on the other answer sets it, so whichever way a real
// hub turns out, the answer is a one-line change here.

export interface HubSettings {
  /**
   * Configurations (edge deployments included) a hub holds: "100 configurations per paid SKU hub",
   * 10 edge deployments on the free tier (iot-hub-devguide-quotas-throttling.md, "Other limits";
   * MicrosoftDocs/azure-docs#32001 met "maximum quota 10" on F1). Whether the configuration and the
   * edge-deployment caps are one shared count is open (§A5 #6); the double counts them together.
   */
  maxConfigurations: number;
  /**
   * Engine ticks between evaluations: "Automatic configurations run for the first time shortly after
   * the configuration is created and then at five minute intervals" (iot-hub-automatic-device-management.md).
   * With one tick standing for a minute, 5. A create, update or delete runs the engine at the next tick
   * ("some operations … force an immediate re-eval", Azure/iotedge#5721).
   */
  evaluationIntervalTicks: number;
  /**
   * Largest query page: the service SDKs take a page size "up to 100" (iot-hub-devguide-query-language.md,
   * 2018 revision; the 2016 one said 1000). A larger `x-ms-max-item-count` is cut to this, and a
   * request without one gets this many — the docs give only the maximum.
   */
  maxPageSize: number;
  /**
   * §A5 #1, un-targeting a layer. `keep`: the layer's content stays on a device that stops matching it
   * until something else changes that device's deployments (Azure/iotedge#7057: "Removing the tag won't
   * work"); `reapply`: base and remaining layers are re-applied at once, as for a deleted layer
   * (MicrosoftDocs/azure-docs#86837). Deleting a layer always re-applies.
   */
  layerUntarget: "keep" | "reapply";
  /**
   * §A5 #2, `targetCondition: ""`. `targetsNothing`: accepted, with an empty Targeted query (the Azure
   * CLI's fixture of a live configuration, test_config_modules_show.json); `refused`: 400
   * InvalidConfigurationTargetCondition on create and update.
   */
  emptyTarget: "targetsNothing" | "refused";
  /**
   * §A5 #4, GROUP BY on `devices.modules`: "Currently, the GROUP BY clause is only supported when
   * querying device twins" (iot-hub-devguide-query-language.md, 2018 revision), so off by default.
   */
  groupByOnModules: boolean;
  /**
   * Query-index lag in engine ticks: "Query results are eventually consistent operations and delays
   * of up to 30 minutes should be tolerated" (query-twins.md); support quoted 5–10 minutes
   * (CGI-FR/IoT-Hub-Portal#1108). Queries, targeting and metrics see the twins as they were this many
   * ticks ago; 0 is a perfectly fresh index.
   */
  queryLagTicks: number;
}

export function defaultSettings(sku: "F1" | "S1" | "S2" | "S3" = "S1"): HubSettings {
  return {
    maxConfigurations: sku === "F1" ? 10 : 100,
    evaluationIntervalTicks: 5,
    maxPageSize: 100,
    layerUntarget: "keep",
    emptyTarget: "targetsNothing",
    groupByOnModules: false,
    queryLagTicks: 0,
  };
}
