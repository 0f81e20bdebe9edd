import type { V1Pod } from "@kubernetes/client-node";
import type { KubeClient } from "../kube/client.ts";
import type { KubeObject } from "../kube/objects.ts";
import { RESOURCES } from "../kube/resources.ts";
import type { Logger } from "../runtime/log.ts";
import type { PodWarning } from "../status/moduleStatus.ts";
import { compareText } from "../runtime/canonical.ts";

type EventObject = KubeObject & {
  involvedObject?: { uid?: string };
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
 * mount (FailedMount), a sandbox it cannot make. Read only when `isStartingUp` picks pods, so a
 * healthy fleet costs no request, and then in one list of the namespace's pod warnings however many
 * pods are starting; when the events cannot be read, the pods just go without a reason.
 */
export async function readPodWarnings(
  client: Pick<KubeClient, "list">,
  namespace: string,
  pods: readonly V1Pod[],
  log: Logger,
): Promise<Map<string, PodWarning>> {
  const warnings = new Map<string, PodWarning>();
  const uids = new Set(pods.flatMap((pod) => (pod.metadata?.uid !== undefined ? [pod.metadata.uid] : [])));
  if (uids.size === 0) return warnings;
  let items: EventObject[];
  try {
    ({ items } = await client.list<EventObject>(RESOURCES.Event, {
      namespace,
      fieldSelector: "involvedObject.kind=Pod,type=Warning",
    }));
  } catch (error) {
    log.debug("could not read pod events", { namespace, error: (error as Error).message });
    return warnings;
  }
  const latest = new Map<string, EventObject>();
  for (const event of items) {
    const uid = event.involvedObject?.uid;
    if (uid === undefined || !uids.has(uid)) continue;
    const seen = latest.get(uid);
    if (seen === undefined || compareText(when(seen), when(event)) <= 0) latest.set(uid, event);
  }
  for (const [uid, event] of latest)
    warnings.set(uid, { reason: event.reason ?? "Warning", message: event.message ?? "" });
  return warnings;
}
