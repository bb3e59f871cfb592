import { NO_GROUP, type SpendBucket, type SpendDimension, type SpendQuery, type SpendRecord, type SpendReportRow } from "../spend/spend-record.js";
import type { SqlSession } from "./sql-executor.js";

export type { SpendBucket };

/** `SpendQuery` (which takes an optional time bucket since the ledger went in). */
export type BucketedSpendQuery = SpendQuery;

/** A report row; `bucket` (epoch ms of the bucket's start, UTC) when the query asked for buckets. */
export type BucketedSpendReportRow = SpendReportRow;

const BUCKET_MS: Record<SpendBucket, number> = { hour: 3_600_000, day: 86_400_000 };
/** Bounds for an open `since`/`until`, well inside bigint and JavaScript's safe integers. */
const MIN_TIME = -8_640_000_000_000_000;
const MAX_TIME = 8_640_000_000_000_000;

const COLUMNS =
  "id, time_ms, key_name, user_name, tags, model, route, deployment, provider, input_tokens, output_tokens, cached_tokens, cost_usd, saved_usd, cache, estimated";
const RECORD_TYPES =
  "id text, time_ms bigint, key_name text, user_name text, tags text[], model text, route text, deployment text, provider text, " +
  "input_tokens bigint, output_tokens bigint, cached_tokens bigint, cost_usd numeric, saved_usd numeric, cache text, estimated boolean";

/**
 * Writes records, each exactly once: a batch sent again after a failure (or one whose commit
 * was not acknowledged) skips the ids already stored. One parameter (a JSON array) whatever the
 * batch size, so no bind-parameter limit, and the same statement on Postgres and PGlite.
 */
export async function insertSpend(session: SqlSession, schema: string, records: readonly SpendRecord[]): Promise<void> {
  const rows = records.map((record) => ({
    id: record.id,
    time_ms: Math.trunc(record.time),
    key_name: record.key ?? null,
    user_name: record.user ?? null,
    tags: [...record.tags],
    model: record.model,
    route: record.route,
    deployment: record.deployment,
    provider: record.provider,
    input_tokens: finite(record.inputTokens),
    output_tokens: finite(record.outputTokens),
    cached_tokens: finite(record.cachedTokens),
    // JSON numbers are read as numeric from their shortest decimal text: exact, no float drift in sums.
    cost_usd: finite(record.costUsd),
    saved_usd: finite(record.savedUsd),
    cache: record.cache,
    estimated: record.estimated,
  }));
  await session.query(
    `INSERT INTO "${schema}".spend (${COLUMNS}) SELECT ${COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS r(${RECORD_TYPES}) ON CONFLICT (id) DO NOTHING`,
    [JSON.stringify(rows)],
  );
}

/** A non-finite number would fail the whole batch forever; it is stored as 0 instead. */
function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

const GROUP_SQL: Record<SpendDimension, string> = {
  key: `coalesce(s.key_name, '${NO_GROUP}')`,
  user: `coalesce(s.user_name, '${NO_GROUP}')`,
  model: "s.model",
  provider: `coalesce(nullif(s.provider, ''), '${NO_GROUP}')`,
  tag: `coalesce(t.tag, '${NO_GROUP}')`,
};

interface ReportRowText {
  grp: string;
  bucket: string | number | null;
  requests: string | number;
  input_tokens: string | number;
  output_tokens: string | number;
  cost_usd: string;
  saved_usd: string;
}

/** Spend grouped in SQL, summed as numeric (exact), costliest first (within each bucket, buckets in time order). */
export async function reportSpend(session: SqlSession, schema: string, query: BucketedSpendQuery): Promise<BucketedSpendReportRow[]> {
  const group = GROUP_SQL[query.by];
  const join = query.by === "tag" ? "LEFT JOIN LATERAL unnest(s.tags) AS t(tag) ON true" : "";
  const bucketMs = query.bucket ? BUCKET_MS[query.bucket] : undefined;
  // Epoch ms divide evenly into UTC hours and days, so a bucket is integer arithmetic.
  const bucket = bucketMs ? `(s.time_ms / ${bucketMs}) * ${bucketMs}` : "NULL::bigint";
  const rows = await session.query<ReportRowText>(
    `SELECT ${group} AS grp, ${bucket} AS bucket, count(*)::text AS requests,
       sum(s.input_tokens)::text AS input_tokens, sum(s.output_tokens)::text AS output_tokens,
       sum(s.cost_usd)::text AS cost_usd, sum(s.saved_usd)::text AS saved_usd
     FROM "${schema}".spend s ${join}
     WHERE s.time_ms >= $1 AND s.time_ms < $2
     GROUP BY 1, 2
     ORDER BY 2 NULLS FIRST, sum(s.cost_usd) DESC, count(*) DESC, 1`,
    [String(toMs(query.since, MIN_TIME)), String(toMs(query.until, MAX_TIME))],
  );
  return rows.map((row) => {
    const out: BucketedSpendReportRow = {
      group: row.grp,
      requests: Number(row.requests),
      inputTokens: Number(row.input_tokens),
      outputTokens: Number(row.output_tokens),
      costUsd: usd(row.cost_usd),
      savedUsd: usd(row.saved_usd),
    };
    if (bucketMs) out.bucket = Number(row.bucket);
    return out;
  });
}

/** Sum of costs in USD spent in `[since, until)` by a key and/or a user (all calls when neither is given). */
export async function sumSpend(
  session: SqlSession,
  schema: string,
  scope: { key?: string; user?: string; since: number; until: number },
): Promise<number> {
  const [row] = await session.query<{ cost_usd: string | null }>(
    `SELECT sum(cost_usd)::text AS cost_usd FROM "${schema}".spend
     WHERE time_ms >= $1 AND time_ms < $2 AND ($3::text IS NULL OR key_name = $3) AND ($4::text IS NULL OR user_name = $4)`,
    [String(clamp(scope.since)), String(clamp(scope.until)), scope.key ?? null, scope.user ?? null],
  );
  return usd(row?.cost_usd ?? "0");
}

/** Spend per key (or per user) in `[since, until)`: one query seeds every budget of a scope. */
export async function sumSpendBy(
  session: SqlSession,
  schema: string,
  by: "key" | "user",
  range: { since: number; until: number },
): Promise<Map<string, number>> {
  const column = by === "key" ? "key_name" : "user_name";
  const rows = await session.query<{ grp: string; cost_usd: string }>(
    `SELECT ${column} AS grp, sum(cost_usd)::text AS cost_usd FROM "${schema}".spend
     WHERE time_ms >= $1 AND time_ms < $2 AND ${column} IS NOT NULL GROUP BY 1`,
    [String(clamp(range.since)), String(clamp(range.until))],
  );
  return new Map(rows.map((row) => [row.grp, usd(row.cost_usd)]));
}

/** Spend per (key, user) pair in `[since, until)`, as user budgets count (per key); `key` undefined for calls without one. */
export async function sumSpendByKeyAndUser(
  session: SqlSession,
  schema: string,
  range: { since: number; until: number },
): Promise<KeyUserSpend[]> {
  const rows = await session.query<{ key_name: string | null; user_name: string; cost_usd: string }>(
    `SELECT key_name, user_name, sum(cost_usd)::text AS cost_usd FROM "${schema}".spend
     WHERE time_ms >= $1 AND time_ms < $2 AND user_name IS NOT NULL GROUP BY 1, 2`,
    [String(clamp(range.since)), String(clamp(range.until))],
  );
  return rows.map((row) => ({ key: row.key_name ?? undefined, user: row.user_name, usd: usd(row.cost_usd) }));
}

/** One (key, user) pair's spend in a period. */
export interface KeyUserSpend {
  key: string | undefined;
  user: string;
  usd: number;
}

function toMs(value: Date | number | undefined, otherwise: number): number {
  if (value === undefined) return otherwise;
  return clamp(typeof value === "number" ? value : value.getTime());
}

function clamp(ms: number): number {
  if (Number.isNaN(ms)) return MIN_TIME;
  return Math.trunc(Math.min(MAX_TIME, Math.max(MIN_TIME, ms)));
}

/** numeric text -> USD, rounded to 1e-10 as the in-memory report does. */
function usd(text: string): number {
  return Math.round(Number(text) * 1e10) / 1e10;
}

export { MIN_TIME, MAX_TIME };
