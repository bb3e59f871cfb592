import type { SqlExecutor } from "./sql-executor.js";

/**
 * One step of the control plane's schema. Versions only grow and steps only add (tables,
 * columns, indexes): a database migrated by a newer modelgate still serves an older one, and
 * no step ever drops or rewrites data.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Statements, one per string, for a schema already quoted (`"modelgate"`). */
  statements(schema: string): readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "spend ledger, runtime keys, audit log",
    statements: (s) => [
      `CREATE TABLE ${s}.spend (
        id text PRIMARY KEY,
        time_ms bigint NOT NULL,
        key_name text,
        user_name text,
        tags text[] NOT NULL DEFAULT '{}',
        model text NOT NULL,
        route text NOT NULL,
        deployment text NOT NULL,
        provider text NOT NULL,
        input_tokens bigint NOT NULL,
        output_tokens bigint NOT NULL,
        cached_tokens bigint NOT NULL,
        cost_usd numeric NOT NULL,
        saved_usd numeric NOT NULL,
        cache text NOT NULL,
        estimated boolean NOT NULL,
        written_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE INDEX spend_time_idx ON ${s}.spend (time_ms)`,
      `CREATE INDEX spend_key_time_idx ON ${s}.spend (key_name, time_ms)`,
      `CREATE INDEX spend_user_time_idx ON ${s}.spend (user_name, time_ms)`,
      `CREATE TABLE ${s}.keys (
        name text PRIMARY KEY,
        secret_hash text NOT NULL UNIQUE,
        secret_hint text NOT NULL,
        config jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`,
      `CREATE TABLE ${s}.audit (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor text NOT NULL,
        action text NOT NULL,
        key_name text,
        before jsonb,
        after jsonb
      )`,
      `CREATE INDEX audit_at_idx ON ${s}.audit (at)`,
      // Append-only in the database itself, not only by convention in this code.
      `CREATE FUNCTION ${s}.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the modelgate audit log is append-only'; END $$`,
      `CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON ${s}.audit FOR EACH ROW EXECUTE FUNCTION ${s}.audit_append_only()`,
      `CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON ${s}.audit FOR EACH STATEMENT EXECUTE FUNCTION ${s}.audit_append_only()`,
    ],
  },
];

/**
 * Brings the schema up to the newest migration, in one transaction under an advisory lock
 * keyed by the schema name: replicas starting together take turns, and the later ones find
 * the work done. Returns the versions it applied.
 */
export async function applyMigrations(executor: SqlExecutor, schemaName: string, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const schema = `"${schemaName}"`;
  return executor.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`modelgate:migrate:${schemaName}`]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const rows = await tx.query<{ version: number | string }>(`SELECT version FROM ${schema}.migrations`);
    const done = new Set(rows.map((row) => Number(row.version)));
    const applied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.statements(schema)) await tx.query(statement);
      await tx.query(`INSERT INTO ${schema}.migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      applied.push(migration.version);
    }
    return applied;
  });
}
