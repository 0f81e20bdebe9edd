// `POST /devices/query`, the twin query endpoint, as the service SDKs drive it. Sources:
//   - request and paging: azure-iothub `src/registry.ts` `_executeQueryFunc` sends `{query}` with
//     `x-ms-max-item-count` (the page size) and `x-ms-continuation` (the token of the page before), and
//     `src/query.ts` reads the next token from the `x-ms-continuation` response header, with no header
//     meaning the last page; [3p, ROLLOUT.md H15] saw `x-ms-item-type` `Twin` or `Raw` on the answers;
//   - the right: "ServiceConnect … Access twins to update tags and desired properties, retrieve reported
//     properties, and run queries" (the SAS article's permissions table). An older SDK sample and a
//     lab say RegistryRead; the double follows the table (ROLLOUT.md §A4);
//   - the throttle: "Queries 20/min/unit" on Free, B1, S1, B2, S2, 1,000/min/unit on S3
//     (iot-hub-devguide-quotas-throttling.md);
//   - the language and its limits: twinQuery.ts.
import { contentHash12 } from "../../src/releases/naming.ts";
import { HttpError, type Operation, type Reply } from "./hubState.ts";
import { parseTwinQuery, runTwinQuery } from "./twinQuery.ts";

function token(offset: number, query: string): string {
  return Buffer.from(JSON.stringify({ o: offset, q: contentHash12(query) })).toString("base64");
}

function offsetOf(continuation: string | undefined, query: string): number {
  if (continuation === undefined || continuation === "") return 0;
  try {
    const parsed = JSON.parse(Buffer.from(continuation, "base64").toString("utf8")) as { o?: unknown; q?: unknown };
    if (typeof parsed.o === "number" && parsed.q === contentHash12(query)) return parsed.o;
  } catch {
    // fall through
  }
  throw new HttpError(400, "ArgumentInvalid", "x-ms-continuation is not a token this query returned");
}

export const QUERY_OPERATIONS: readonly Operation[] = [
  {
    name: "queryTwins",
    method: "POST",
    path: "/devices/query",
    right: "ServiceConnect",
    registry: false,
    throttle: "queries",
    handle: (hub, request): Reply => {
      const text = request.body?.["query"];
      if (typeof text !== "string" || text.trim() === "")
        throw new HttpError(400, "ArgumentInvalid", "the body needs a query");
      let query;
      try {
        query = parseTwinQuery(text, hub.settings.groupByOnModules);
      } catch (error) {
        throw new HttpError(400, "ArgumentInvalid", `query: ${(error as Error).message}`);
      }
      const rows = runTwinQuery(query, hub.queryDocuments(query.collection));
      const asked = Number.parseInt(request.headers["x-ms-max-item-count"] ?? "", 10);
      const max = hub.settings.maxPageSize;
      const pageSize = Number.isInteger(asked) && asked > 0 ? Math.min(asked, max) : max;
      const offset = offsetOf(request.headers["x-ms-continuation"], text);
      const page = rows.slice(offset, offset + pageSize);
      const next = offset + pageSize;
      const headers: Record<string, string> = { "x-ms-item-type": query.projections ? "Raw" : "Twin" };
      if (next < rows.length) headers["x-ms-continuation"] = token(next, text);
      return [200, page, headers];
    },
  },
];
