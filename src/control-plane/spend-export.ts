import type { SqlSession } from "./sql-executor.js";

export interface ExportSpendOptions {
  /** Inclusive; epoch ms or a Date (default: the first record). */
  since?: Date | number;
  /** Exclusive (default: now and later). */
  until?: Date | number;
  format: "csv" | "jsonl";
  /** Rows read per query (default 1,000): memory stays bounded however long the range. */
  pageSize?: number;
}

interface ExportRow {
  id: string;
  time_ms: string | number;
  key_name: string | null;
  user_name: string | null;
  tags: string[];
  model: string;
  route: string;
  deployment: string;
  provider: string;
  input_tokens: string | number;
  output_tokens: string | number;
  cached_tokens: string | number;
  cost_usd: string;
  saved_usd: string;
  cache: string;
  estimated: boolean;
}

const CSV_HEADER = [
  "id",
  "time",
  "key",
  "user",
  "tags",
  "model",
  "route",
  "deployment",
  "provider",
  "input_tokens",
  "output_tokens",
  "cached_tokens",
  "cost_usd",
  "saved_usd",
  "cache",
  "estimated",
];

/**
 * The ledger as text, one line per record in time order, read page by page (keyset pagination on
 * `(time_ms, id)`, so a page never repeats or skips a record). Costs are the stored decimals.
 */
export async function* exportSpendLines(
  session: SqlSession,
  schema: string,
  range: { since: number; until: number },
  format: "csv" | "jsonl",
  pageSize: number,
): AsyncGenerator<string> {
  if (format === "csv") yield `${CSV_HEADER.join(",")}\r\n`;
  let after: { time: string; id: string } | undefined;
  for (;;) {
    const rows = await session.query<ExportRow>(
      `SELECT id, time_ms::text AS time_ms, key_name, user_name, tags, model, route, deployment, provider,
         input_tokens::text AS input_tokens, output_tokens::text AS output_tokens, cached_tokens::text AS cached_tokens,
         cost_usd::text AS cost_usd, saved_usd::text AS saved_usd, cache, estimated
       FROM "${schema}".spend
       WHERE time_ms >= $1 AND time_ms < $2 AND ($3::bigint IS NULL OR (time_ms, id) > ($3::bigint, $4::text))
       ORDER BY time_ms, id LIMIT $5`,
      [String(range.since), String(range.until), after?.time ?? null, after?.id ?? null, pageSize],
    );
    for (const row of rows) yield format === "csv" ? csvLine(row) : jsonLine(row);
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = { time: String(last.time_ms), id: last.id };
  }
}

function jsonLine(row: ExportRow): string {
  return `${JSON.stringify({
    id: row.id,
    time: Number(row.time_ms),
    key: row.key_name ?? undefined,
    user: row.user_name ?? undefined,
    tags: row.tags,
    model: row.model,
    route: row.route,
    deployment: row.deployment,
    provider: row.provider,
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    cachedTokens: Number(row.cached_tokens),
    costUsd: Number(row.cost_usd),
    savedUsd: Number(row.saved_usd),
    cache: row.cache,
    estimated: row.estimated,
  })}\n`;
}

function csvLine(row: ExportRow): string {
  const fields = [
    row.id,
    new Date(Number(row.time_ms)).toISOString(),
    row.key_name ?? "",
    row.user_name ?? "",
    // Tags as a JSON array: unambiguous whatever characters a tag holds.
    row.tags.length > 0 ? JSON.stringify(row.tags) : "",
    row.model,
    row.route,
    row.deployment,
    row.provider,
    String(row.input_tokens),
    String(row.output_tokens),
    String(row.cached_tokens),
    row.cost_usd,
    row.saved_usd,
    row.cache,
    row.estimated ? "true" : "false",
  ];
  return `${fields.map(csvField).join(",")}\r\n`;
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
