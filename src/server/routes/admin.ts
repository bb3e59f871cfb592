import type { Gateway, SpendDimension } from "../../index.js";
import { HttpError, type Headers, type Reply } from "../call.js";

const DIMENSIONS: readonly SpendDimension[] = ["key", "user", "model", "provider", "tag"];
const BUCKETS: Readonly<Record<string, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const MAX_BUCKETS = 400;
const DAY_MS = 86_400_000;

/** `GET /admin/*`: the dashboard's data, JSON, behind the admin token (checked by the dispatcher). */
export async function adminRoute(gateway: Gateway, path: string, query: string, inFlight: number, headers: Headers): Promise<Reply> {
  switch (path) {
    case "/admin/spend":
      return json(await spend(gateway, new URLSearchParams(query)), headers);
    case "/admin/budgets":
      return json({ budgets: await gateway.budgets.list() }, headers);
    case "/admin/alerts":
      return json({ alerts: gateway.alerts.recent(), stats: gateway.stats().alerts ?? null }, headers);
    case "/admin/health":
      return json({ deployments: gateway.health(), cache: gateway.stats().cache ?? null, inFlight }, headers);
    default:
      throw new HttpError(404, "not_found", `Unknown admin URL: ${path.slice(0, 200)}`);
  }
}

/**
 * Spend since `since` (default 24 h ago) grouped `by` a dimension, each group with its share;
 * with `bucket` (minute, hour, day) also the spend of each group per bucket, for the chart.
 */
async function spend(gateway: Gateway, params: URLSearchParams): Promise<object> {
  const by = (params.get("by") ?? "user") as SpendDimension;
  if (!DIMENSIONS.includes(by)) throw badParam("by", `expected one of ${DIMENSIONS.join(", ")}`);
  const until = timeParam(params, "until") ?? Date.now();
  const since = timeParam(params, "since") ?? until - DAY_MS;
  const rows = await gateway.spend.report({ by, since, until });
  const totalUsd = sum(rows.map((row) => row.costUsd));
  const savedUsd = sum(rows.map((row) => row.savedUsd));
  const requests = rows.reduce((count, row) => count + row.requests, 0);
  const result: Record<string, unknown> = {
    by,
    since,
    until,
    totalUsd,
    savedUsd,
    requests,
    rows: rows.map((row) => ({ ...row, share: totalUsd > 0 ? row.costUsd / totalUsd : 0 })),
  };
  const bucket = params.get("bucket");
  if (bucket !== null) {
    const bucketMs = BUCKETS[bucket];
    if (bucketMs === undefined) throw badParam("bucket", `expected one of ${Object.keys(BUCKETS).join(", ")}`);
    const first = Math.floor(since / bucketMs) * bucketMs;
    const count = Math.ceil((until - first) / bucketMs);
    if (count > MAX_BUCKETS) throw badParam("since", `spans ${count} ${bucket}s; at most ${MAX_BUCKETS} buckets`);
    const buckets = [];
    for (let start = first; start < until; start += bucketMs) {
      const groups: Record<string, number> = {};
      for (const row of await gateway.spend.report({ by, since: start, until: start + bucketMs })) groups[row.group] = row.costUsd;
      buckets.push({ start, groups });
    }
    result.bucketMs = bucketMs;
    result.buckets = buckets;
  }
  return result;
}

function timeParam(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === "") return undefined;
  const time = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(time)) throw badParam(name, "expected epoch ms or an ISO 8601 date");
  return time;
}

function badParam(name: string, expected: string): HttpError {
  return new HttpError(400, "invalid_request_error", `Invalid query parameter '${name}': ${expected}`, "invalid_request_error", name);
}

function sum(values: number[]): number {
  return Math.round(values.reduce((total, value) => total + value, 0) * 1e10) / 1e10;
}

function json(body: object, headers: Headers): Reply {
  return { status: 200, headers: { ...headers, "content-type": "application/json", "cache-control": "no-store" }, body: JSON.stringify(body) };
}
