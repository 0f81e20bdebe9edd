// The real azure-iothub Registry, pointed at the hub double. The SDK signs, builds and sends every
// request itself; only the connection goes to the double's loopback port.
import iothub from "azure-iothub";
import type { HubDouble } from "./hubDouble.ts";
import { withHttpsOptions } from "../../src/hub/connector.ts";

/** A Registry signed with a shared access policy's key (registryReadWrite unless named) or a connection string. */
export function registryFor(hub: HubDouble, policyOrConnectionString = "registryReadWrite"): iothub.Registry {
  const cs = policyOrConnectionString.includes("=")
    ? policyOrConnectionString
    : hub.policyConnectionString(policyOrConnectionString);
  return withHttpsOptions(iothub.Registry.fromConnectionString(cs), { agent: hub.agent() });
}

type ApiCall = (
  method: string,
  path: string,
  headers: Record<string, string>,
  body: unknown,
  done: (error: Error | undefined, result?: unknown) => void,
) => void;

/**
 * `POST /configurations/testQueries`: azure-iothub has no Registry method for it (only its generated,
 * unexported client does), so this sends it through the Registry's own REST client, which signs it
 * exactly as it signs every other call.
 */
export function testQueries(
  registry: iothub.Registry,
  input: { targetCondition?: string; customMetricQueries?: Record<string, string> },
): Promise<{ targetConditionError?: string; customMetricQueryErrors?: Record<string, string> }> {
  const client = (registry as unknown as { _restApiClient: { executeApiCall: ApiCall } })._restApiClient;
  return new Promise((resolve, reject) => {
    client.executeApiCall(
      "POST",
      "/configurations/testQueries?api-version=2021-04-12",
      { "Content-Type": "application/json; charset=utf-8" },
      input,
      (error, result) => {
        if (error) reject(error);
        else resolve(result as { targetConditionError?: string; customMetricQueryErrors?: Record<string, string> });
      },
    );
  });
}

/** Every row of a twin query, page by page as the SDK's Query pages it; also the pages' sizes. */
export async function queryAll(
  registry: iothub.Registry,
  sql: string,
  pageSize?: number,
): Promise<{ rows: Record<string, unknown>[]; pages: number[] }> {
  const query = registry.createQuery(sql, pageSize);
  const rows: Record<string, unknown>[] = [];
  const pages: number[] = [];
  while (query.hasMoreResults) {
    // Called without arguments, the promise form of `next` ignores the token it stored (query.ts takes
    // the missing argument as the token), so the token is passed explicitly.
    const reply = await query.next(query.continuationToken);
    const page = reply.result as Record<string, unknown>[];
    pages.push(page.length);
    rows.push(...page);
  }
  return { rows, pages };
}
