import type { DockerBody } from "./docker/body.ts";
import type { JsonPath } from "./issues.ts";
import type { K8sExperimental } from "./k8s/experimental.ts";
import type { IMAGE_PULL_POLICIES, MODULE_STATUSES, RESTART_POLICIES } from "./schema.ts";
import type { VolumeMountSpec } from "./volumes.ts";

export type ModuleStatus = (typeof MODULE_STATUSES)[number];
export type RestartPolicy = (typeof RESTART_POLICIES)[number];
export type ImagePullPolicy = (typeof IMAGE_PULL_POLICIES)[number];
export type Protocol = "TCP" | "UDP" | "SCTP";

/** The module id IoT Hub gives edgeHub; its Kubernetes name is `edgehub`. */
export const EDGE_HUB_MODULE_ID = "$edgeHub";
export const EDGE_AGENT_MODULE_ID = "$edgeAgent";

export interface RegistryCredential {
  readonly name: string;
  readonly address: string;
  readonly username: string;
  readonly password: string;
}

export interface ContainerPort {
  readonly port: number;
  readonly protocol: Protocol;
}

/** A host port binding: `hostPort` is the published Service port, `port` its target. */
export interface PortBinding extends ContainerPort {
  readonly hostPort: number;
  /** Docker's HostIp: the host address to publish on ("" for all). */
  readonly hostIp: string;
  /** Where the binding is in the input, for warnings. */
  readonly at: JsonPath;
}

/** One module, validated and typed; the input of translation. */
export interface ModuleSpec {
  readonly id: string;
  readonly k8sName: string;
  readonly system: boolean;
  /** JSON path of the module in the input document, for warnings. */
  readonly path: string;
  readonly pathParts: JsonPath;
  readonly version: string | undefined;
  readonly status: ModuleStatus;
  readonly restartPolicy: RestartPolicy;
  readonly imagePullPolicy: ImagePullPolicy;
  readonly startupOrder: number;
  /** The module's `env` section, in the order written. */
  readonly env: readonly (readonly [string, string])[];
  readonly image: string;
  /** Docker's container-create body, read once (keys canonical, values typed); never the raw JSON. */
  readonly createOptions: DockerBody;
  readonly k8sExperimental: K8sExperimental;
  readonly exposedPorts: readonly ContainerPort[];
  readonly portBindings: readonly PortBinding[];
  readonly mounts: readonly VolumeMountSpec[];
}

export interface Route {
  readonly name: string;
  readonly route: string;
  readonly priority: number | undefined;
  readonly timeToLiveSecs: number | undefined;
}

export interface EdgeHubConfig {
  readonly schemaVersion: string;
  readonly routes: readonly Route[];
  readonly storeAndForwardTimeToLiveSecs: number | undefined;
}

/** A whole deployment manifest for one device, after validation. */
export interface DeploymentManifest {
  readonly schemaVersion: string;
  readonly edgeAgentImage: string;
  readonly registryCredentials: readonly RegistryCredential[];
  /** edgeHub and the user modules, sorted by Kubernetes name (stable output). */
  readonly modules: readonly ModuleSpec[];
  /** Absent in hub mode, where edgeHub reads its own twin. */
  readonly edgeHub: EdgeHubConfig | undefined;
}
