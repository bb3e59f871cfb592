import type { SqlSession } from "./sql-executor.js";

/** What was changed: a runtime key's life, or a budget (of a key, a user, or the config's). */
export type AuditAction = "key.create" | "key.update" | "key.revoke" | "budget.update";

/** One row of the audit log; `before`/`after` are the public view of what changed (never a secret). */
export interface AuditEntry {
  id: number;
  at: Date;
  actor: string;
  action: AuditAction;
  key: string | undefined;
  before: Record<string, unknown> | undefined;
  after: Record<string, unknown> | undefined;
}

export interface AuditQuery {
  /** Inclusive. */
  since?: Date | number;
  /** Exclusive. */
  until?: Date | number;
  key?: string;
  /** Most rows, oldest first (default 1,000). */
  limit?: number;
}

export interface AuditInput {
  actor: string;
  action: AuditAction;
  key?: string;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

/** Appends one row; the table refuses UPDATE, DELETE and TRUNCATE (a trigger), so the log only grows. */
export async function appendAudit(session: SqlSession, schema: string, entry: AuditInput): Promise<void> {
  await session.query(`INSERT INTO "${schema}".audit (actor, action, key_name, before, after) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)`, [
    entry.actor,
    entry.action,
    entry.key ?? null,
    entry.before === undefined ? null : JSON.stringify(entry.before),
    entry.after === undefined ? null : JSON.stringify(entry.after),
  ]);
}

interface AuditRow {
  id: string | number;
  at: Date | string;
  actor: string;
  action: AuditAction;
  key_name: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

export async function readAudit(session: SqlSession, schema: string, query: AuditQuery = {}): Promise<AuditEntry[]> {
  const iso = (value: Date | number | undefined): string | null => (value === undefined ? null : new Date(value).toISOString());
  const rows = await session.query<AuditRow>(
    `SELECT id, at, actor, action, key_name, before, after FROM "${schema}".audit
     WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2) AND ($3::text IS NULL OR key_name = $3)
     ORDER BY id LIMIT $4`,
    [iso(query.since), iso(query.until), query.key ?? null, Math.max(1, Math.min(100_000, Math.floor(query.limit ?? 1_000)))],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    at: new Date(row.at),
    actor: row.actor,
    action: row.action,
    key: row.key_name ?? undefined,
    before: row.before ?? undefined,
    after: row.after ?? undefined,
  }));
}
