// Shared access signatures as IoT Hub checks them. Source: learn.microsoft.com "Control access to IoT
// Hub with shared access signatures" (MicrosoftDocs/azure-docs articles/iot-hub/authenticate-authorize-sas.md,
// "SAS token structure"):
//   SharedAccessSignature sr={URL-encoded-resourceURI}&sig={signature}&se={expiry}[&skn={policyName}]
//   signature = base64(HMAC-SHA256(base64-decoded key, {URL-encoded-resourceURI} + "\n" + {expiry}))
//   the resource URI is a prefix "by segment" of the endpoints the token may reach, and is compared in
//   lower case ("Lower case URL-encoding of the lower case resource URI").
// Strict: the signature is checked over `sr` exactly as sent, `sr` must be URL-encoded, an expired
// token is refused. (The double once accepted signatures over the decoded resource too; IoT Hub does not.)
import { createHmac, timingSafeEqual } from "node:crypto";

export interface Sas {
  /** `sr` exactly as sent (URL-encoded): what the signature covers. */
  readonly signedResource: string;
  /** The resource URI, decoded: `host`, `host/devices/id` or `host/devices/id/modules/m`. */
  readonly resource: string;
  readonly keyName: string | undefined;
  /** Seconds since the epoch. */
  readonly expiry: number;
  readonly signature: string;
}

/** Why a token is unusable, or the parsed token. */
export function parseSas(token: string | undefined): Sas | string {
  if (!token?.startsWith("SharedAccessSignature ")) return "missing or malformed SharedAccessSignature";
  const fields = new Map<string, string>();
  for (const part of token.slice("SharedAccessSignature ".length).split("&")) {
    const at = part.indexOf("=");
    if (at > 0) fields.set(part.slice(0, at), part.slice(at + 1));
  }
  const sr = fields.get("sr");
  const sig = fields.get("sig");
  const se = fields.get("se");
  if (sr === undefined || sig === undefined || se === undefined) return "the token needs sr, sig and se";
  if (!/^\d+$/.test(se)) return "se must be whole seconds since the epoch";
  let resource: string;
  try {
    resource = decodeURIComponent(sr);
  } catch {
    return "sr is not valid URL encoding";
  }
  if (encodeURIComponent(resource).toLowerCase() !== sr.toLowerCase()) return "sr must be the URL-encoded resource URI";
  const skn = fields.get("skn");
  return {
    signedResource: sr,
    resource,
    keyName: skn !== undefined ? decodeURIComponent(skn) : undefined,
    expiry: Number(se),
    signature: decodeURIComponent(sig),
  };
}

export function sign(key: string, signedResource: string, expiry: number): string {
  return createHmac("sha256", Buffer.from(key, "base64"))
    .update(`${signedResource}\n${String(expiry)}`)
    .digest("base64");
}

/** A token signed by this double's rules (for tests that speak the protocols by hand). */
export function sasToken(resource: string, key: string, expiry: number, keyName?: string): string {
  const sr = encodeURIComponent(resource);
  const sig = encodeURIComponent(sign(key, sr, expiry));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${String(expiry)}${keyName ? `&skn=${keyName}` : ""}`;
}

/** True when the token was signed with `key` (over `sr` as sent). Expiry is checked separately. */
export function signedWith(sas: Sas, key: string): boolean {
  const given = Buffer.from(sas.signature);
  const expected = Buffer.from(sign(key, sas.signedResource, sas.expiry));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function expired(sas: Sas, nowMs = Date.now()): boolean {
  return sas.expiry * 1000 <= nowMs;
}

/** "The URI prefix is computed by segment and not by character": `/a/b` covers `/a/b/c`, not `/a/bc`. */
export function covers(scope: string, resource: string): boolean {
  const s = scope.toLowerCase().replace(/\/+$/, "").split("/");
  const r = resource.toLowerCase().split("/");
  return s.length <= r.length && s.every((segment, i) => segment === r[i]);
}
