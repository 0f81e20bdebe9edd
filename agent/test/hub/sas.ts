// Shared access signatures as IoT Hub checks them: `SharedAccessSignature sr=…&sig=…&se=…[&skn=…]`,
// sig = base64(HMAC-SHA256(base64-decoded key, sr + "\n" + se)).
import { createHmac, timingSafeEqual } from "node:crypto";

export interface Sas {
  /** The resource URI, decoded: `host`, `host/devices/id` or `host/devices/id/modules/m`. */
  readonly resource: string;
  readonly keyName: string | undefined;
  readonly expiry: number;
  readonly signature: string;
  /** The resource exactly as it was signed (clients differ in whether they encode it). */
  readonly signedResources: readonly string[];
}

export function parseSas(token: string | undefined): Sas | undefined {
  if (!token?.startsWith("SharedAccessSignature ")) return undefined;
  const fields = new Map<string, string>();
  for (const part of token.slice("SharedAccessSignature ".length).split("&")) {
    const at = part.indexOf("=");
    if (at > 0) fields.set(part.slice(0, at), part.slice(at + 1));
  }
  const sr = fields.get("sr");
  const sig = fields.get("sig");
  const se = fields.get("se");
  if (sr === undefined || sig === undefined || se === undefined) return undefined;
  const once = decodeURIComponent(sr);
  const resource = decodeURIComponent(once);
  const skn = fields.get("skn");
  return {
    resource,
    keyName: skn !== undefined ? decodeURIComponent(skn) : undefined,
    expiry: Number(se),
    signature: decodeURIComponent(sig),
    signedResources: [...new Set([once, resource, encodeURIComponent(resource)])],
  };
}

export function sign(key: string, resource: string, expiry: number): string {
  return createHmac("sha256", Buffer.from(key, "base64"))
    .update(`${resource}\n${String(expiry)}`)
    .digest("base64");
}

/** True when the token was signed with `key` and has not expired. */
export function verifySas(sas: Sas, key: string, nowSeconds = Date.now() / 1000): boolean {
  if (sas.expiry < nowSeconds) return false;
  const given = Buffer.from(sas.signature);
  return sas.signedResources.some((r) => {
    const expected = Buffer.from(sign(key, r, sas.expiry));
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}
