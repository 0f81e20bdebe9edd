// Real-looking IoT Edge deployments for the hub double's tests: a base (whole `properties.desired`
// documents for $edgeAgent and $edgeHub) and a layer (dot paths per module and route).

export function baseContent(image: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    modulesContent: {
      $edgeAgent: {
        "properties.desired": {
          schemaVersion: "1.1",
          runtime: { type: "docker", settings: { minDockerVersion: "v1.25" } },
          systemModules: {
            edgeAgent: { type: "docker", settings: { image: "mcr.microsoft.com/azureiotedge-agent:1.5" } },
            edgeHub: {
              type: "docker",
              status: "running",
              restartPolicy: "always",
              settings: { image: "mcr.microsoft.com/azureiotedge-hub:1.5" },
            },
          },
          modules: {
            sensor: { type: "docker", status: "running", restartPolicy: "always", settings: { image } },
            ...extra,
          },
        },
      },
      $edgeHub: {
        "properties.desired": {
          schemaVersion: "1.1",
          routes: { upstream: "FROM /messages/* INTO $upstream" },
          storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
        },
      },
    },
  };
}

export function layerContent(moduleId: string, image: string): Record<string, unknown> {
  return {
    modulesContent: {
      $edgeAgent: {
        [`properties.desired.modules.${moduleId}`]: {
          type: "docker",
          status: "running",
          restartPolicy: "always",
          settings: { image },
        },
      },
      $edgeHub: {
        [`properties.desired.routes.${moduleId}ToUpstream`]: `FROM /messages/modules/${moduleId}/* INTO $upstream`,
      },
    },
  };
}
