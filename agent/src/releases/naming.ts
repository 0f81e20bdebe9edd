import { createHash } from "node:crypto";
import type { JsonValue } from "./evaluate.ts";
import { canonicalJson } from "../runtime/canonical.ts";

/**
 * Names and labels of releases (IoT Hub configurations), with IoT Hub's own rules:
 * - a configuration id is "up to 128 characters long. Lowercase letters and the following special
 *   characters are allowed: `-+%_*!'`" (`includes/iot-hub-automatic-device-management-cli.md`; the
 *   examples use digits too);
 * - label keys and values are up to 128 characters of 7-bit ASCII alphanumerics and
 *   `- : . + % _ # * ? ! ( ) , = @ ; '`, and `$` is reserved (Azure/azure-iot-hub-node
 *   `src/configuration.ts`); so no `/`, and Kubernetes-style label keys cannot be used.
 */
export const TRACK_NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const CONFIGURATION_ID = /^[a-z0-9\-+%_*!']{1,128}$/;
const LABEL = /^[A-Za-z0-9\-:.+%_#*?!(),=@;']{1,128}$/;

/** First 12 hex digits of the SHA-256 of the canonical content. */
export function contentHash12(content: JsonValue): string {
  return createHash("sha256").update(canonicalJson(content)).digest("hex").slice(0, 12);
}

/** `ek8s-<track>-<sha12>`: a release id says which track it belongs to and which content it holds. */
export function releaseId(track: string, content: JsonValue): string {
  return `ek8s-${track}-${contentHash12(content)}`;
}

export function trackNameProblem(name: string): string | undefined {
  return TRACK_NAME.test(name)
    ? undefined
    : "must be 1–40 characters of lowercase letters, digits and '-', starting and ending with a letter or digit";
}

export function configurationIdProblem(id: string): string | undefined {
  return CONFIGURATION_ID.test(id)
    ? undefined
    : "IoT Hub configuration ids are 1–128 characters of lowercase letters, digits and -+%_*!'";
}

export function labelProblem(text: string): string | undefined {
  if (text.includes("$")) return "'$' is reserved by IoT Hub";
  return LABEL.test(text)
    ? undefined
    : "IoT Hub labels are 1–128 characters of ASCII letters, digits and - : . + % _ # * ? ! ( ) , = @ ; '";
}

/** 32-bit FNV-1a of the UTF-8 bytes. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The device's stable rollout bucket, 0–99: percentage rings select `tags.edgek8s.bucket < p`. */
export function deviceBucket(deviceId: string): number {
  return fnv1a(deviceId) % 100;
}
