import { UsageError, oneOf } from "./usage.ts";
import { DEFAULT_TRANSLATION_DEFAULTS, type TranslationDefaults, VOLUME_ACCESS_MODES } from "../translate/context.ts";
import { hostNameProblem } from "../naming/ids.ts";

/** The flags that set translation defaults, shared by `render` and `agent`. */
export const translationFlagOptions = {
  "service-type": { type: "string" },
  "volume-size": { type: "string" },
  "storage-class": { type: "string" },
  "volume-access-mode": { type: "string" },
  "volume-name-from-source": { type: "boolean" },
  "parent-hostname": { type: "string" },
} as const;

export const translationFlagHelp = `  --service-type TYPE      Service type for modules with PortBindings: ClusterIP (default), NodePort, LoadBalancer
  --volume-size SIZE       size of claims made for Docker volumes (default 1Gi)
  --storage-class NAME     storage class of those claims (default: the cluster's default; "" for none)
  --volume-access-mode M   ReadWriteOnce (default), ReadOnlyMany, ReadWriteMany or ReadWriteOncePod
  --volume-name-from-source  bind each claim to the pre-made PersistentVolume named like the Docker volume
  --parent-hostname HOST   nested IoT Edge: the parent device that $upstream in images stands for`;

export type TranslationFlags = Partial<Record<keyof typeof translationFlagOptions, string | boolean>>;

function quantityFlag(value: string | boolean | undefined, flag: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !/^[1-9]\d*(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.test(value)) {
    throw new UsageError(
      `--${flag} must be a positive Kubernetes quantity such as 512Mi or 10Gi, got "${String(value)}"`,
    );
  }
  return value;
}

function parentHostname(value: string | boolean | undefined): string | undefined {
  if (value === undefined) return undefined;
  const problem = typeof value === "string" ? hostNameProblem(value) : "needs a host name";
  if (problem) throw new UsageError(`--parent-hostname ${problem}`);
  return value as string;
}

export function translationDefaultsFrom(values: TranslationFlags): TranslationDefaults {
  return {
    serviceType: oneOf(
      values["service-type"],
      "service-type",
      ["ClusterIP", "NodePort", "LoadBalancer"] as const,
      DEFAULT_TRANSLATION_DEFAULTS.serviceType,
    ),
    volumeSize: quantityFlag(values["volume-size"], "volume-size", DEFAULT_TRANSLATION_DEFAULTS.volumeSize),
    storageClassName: typeof values["storage-class"] === "string" ? values["storage-class"] : undefined,
    volumeAccessMode: oneOf(
      values["volume-access-mode"],
      "volume-access-mode",
      VOLUME_ACCESS_MODES,
      DEFAULT_TRANSLATION_DEFAULTS.volumeAccessMode,
    ),
    volumeNameFromSource: values["volume-name-from-source"] === true,
    parentHostname: parentHostname(values["parent-hostname"]),
  };
}
