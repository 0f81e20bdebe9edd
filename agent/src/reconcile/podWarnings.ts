import type { V1Pod } from "@kubernetes/client-node";
import type { KubeClient } from "../kube/client.ts";
import type { KubeObject } from "../kube/objects.ts";
import { RESOURCES } from "../kube/resources.ts";
import type { Logger } from "../runtime/log.ts";
import type { PodWarning } from "../status/moduleStatus.ts";
import { compareText } from "../runtime/canonical.ts";

type EventObject = KubeObject & {
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
};

const when = (e: EventObject): string => {
  const time = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? "";
  return typeof time === "string" ? time : time.toISOString();
};

/**
 * The latest Warning event of each pod (by uid): why kubelet cannot prepare it — a volume it cannot
 * mount (FailedMount), a sandbox it cannot make. Read only for the pods `isStartingUp` picks, so a
 * healthy fleet costs no request; a pod whose events cannot be read just goes without a reason.
 */
export async function readPodWarnings(
  client: KubeClient,
  namespace: string,
  pods: readonly V1Pod[],
  log: Logger,
): Promise<Map<string, PodWarning>> {
  const warnings = new Map<string, PodWarning>();
  await Promise.all(
    pods.map(async (pod) => {
      const uid = pod.metadata?.uid;
      if (uid === undefined) return;
      try {
        const { items } = await client.list<EventObject>(RESOURCES.Event, {
          namespace,
          fieldSelector: `involvedObject.uid=${uid},type=Warning`,
        });
        const latest = items.sort((a, b) => compareText(when(a), when(b))).at(-1);
        if (latest) warnings.set(uid, { reason: latest.reason ?? "Warning", message: latest.message ?? "" });
      } catch (error) {
        log.debug("could not read pod events", {
          namespace,
          name: pod.metadata?.name,
          error: (error as Error).message,
        });
      }
    }),
  );
  return warnings;
}
