import { z } from "zod";

/** A Postgres schema name we create and quote ourselves: lowercase, no `pg_` prefix, at most 48 characters. */
const SCHEMA_NAME = /^(?!pg_)[a-z_][a-z0-9_]{0,47}$/;

export const controlPlaneOptionsSchema = z
  .object({
    /** `postgres://user:pass@host:5432/db`; without it, an embedded PGlite under `dataDir`. */
    url: z.string().min(1).optional(),
    /** Where the embedded database lives (default `./.modelgate/`); only without `url`. */
    dataDir: z.string().min(1).optional(),
    /** The Postgres schema the tables live in (default `modelgate`). */
    schema: z
      .string()
      .regex(SCHEMA_NAME, "expected a lowercase identifier: a letter or _, then letters, digits or _, at most 48, not starting with pg_")
      .optional(),
    /** Who the audit log names for changes made without an `actor` (default `"api"`). */
    actor: z.string().min(1).max(200).optional(),
    /** Spend records buffered while the database is unreachable (default 100,000); past it the oldest are dropped, with an event. */
    maxPendingRecords: z.number().int().positive().optional(),
    /** Records per INSERT (default 500). */
    batchSize: z.number().int().positive().max(10_000).optional(),
    /**
     * How long a spend record may wait for others so they share one INSERT (default 20 ms; 0
     * writes each burst at once). Embedded PGlite runs on the gateway's own thread, so a write
     * per call costs every caller; `flush()`, reports and `close()` write at once regardless.
     */
    flushDelayMs: z.number().int().min(0).max(10_000).optional(),
    /** Longest wait between two write attempts while the database is down (default 2,000 ms). */
    maxRetryMs: z.number().int().positive().optional(),
    /** How often every key is re-read, a safety net under LISTEN/NOTIFY (default 10,000 ms). */
    keyRefreshMs: z.number().int().positive().optional(),
    /** A statement that takes longer fails and is retried (default 10,000 ms; Postgres server only). */
    queryTimeoutMs: z.number().int().positive().optional(),
    /** Pool size (default 4; Postgres server only). */
    maxConnections: z.number().int().positive().max(100).optional(),
  })
  .strict()
  .refine((options) => options.url === undefined || options.dataDir === undefined, {
    path: ["dataDir"],
    message: "is for the embedded database only; with url, data lives on the Postgres server",
  });

export type PostgresControlPlaneOptions = z.infer<typeof controlPlaneOptionsSchema>;

export const CONTROL_PLANE_DEFAULTS = {
  dataDir: "./.modelgate",
  schema: "modelgate",
  actor: "api",
  maxPendingRecords: 100_000,
  batchSize: 500,
  flushDelayMs: 20,
  maxRetryMs: 2_000,
  keyRefreshMs: 10_000,
  queryTimeoutMs: 10_000,
  maxConnections: 4,
} as const;
