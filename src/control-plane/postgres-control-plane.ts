import { resolve } from "node:path";
import { toIssues } from "../core/config-issues.js";
import { ConfigError, InvalidRequestError } from "../core/errors.js";
import { periodWindow, type BudgetPeriod } from "../limits/budget-period.js";
import { appendAudit, readAudit, type AuditEntry, type AuditInput, type AuditQuery } from "./audit-log.js";
import { ControlPlaneUnavailableError, whileAvailable } from "./control-plane-errors.js";
import { ControlPlaneEvents, type ControlPlaneEventMap, type ControlPlaneEventName } from "./control-plane-events.js";
import { CONTROL_PLANE_DEFAULTS, controlPlaneOptionsSchema, type PostgresControlPlaneOptions } from "./control-plane-options.js";
import { applyMigrations } from "./migrations.js";
import { pgExecutor } from "./pg-executor.js";
import { pgliteExecutor } from "./pglite-executor.js";
import { postgresSpendStore, type LedgerStats, type PostgresSpendStore } from "./postgres-spend-store.js";
import { RuntimeKeyStore, type RuntimeKeys } from "./runtime-keys.js";
import { exportSpendLines, type ExportSpendOptions } from "./spend-export.js";
import { MAX_TIME, MIN_TIME, sumSpend, sumSpendBy, sumSpendByKeyAndUser, type KeyUserSpend } from "./spend-sql.js";
import type { SqlExecutor, Unlisten } from "./sql-executor.js";

/** `up`: the last database operation worked. `down`: it failed (writes are buffered and retried). */
export type ControlPlaneState = "starting" | "up" | "down" | "closed";

export interface ControlPlaneStats extends LedgerStats {
  state: ControlPlaneState;
  /** Active runtime keys in the local cache. */
  cachedKeys: number;
}

export interface SpentInPeriodQuery {
  key?: string;
  user?: string;
  period: BudgetPeriod;
  /** Epoch ms that falls in the period (default now). */
  now?: number;
}

export interface SpentByQuery {
  by: "key" | "user";
  period: BudgetPeriod;
  now?: number;
}

/**
 * The control plane: a durable spend ledger, runtime virtual keys and an audit log in
 * Postgres (or an embedded PGlite). Made synchronously; it connects and migrates in the
 * background, retrying while the database is down. `ready()` resolves once it is usable.
 */
export interface PostgresControlPlane {
  readonly kind: "postgres" | "pglite";
  readonly schema: string;
  readonly state: ControlPlaneState;
  /**
   * Resolves once migrations are applied and keys loaded. Rejects with a ConfigError when a
   * driver is missing, or (with `timeoutMs`) a `ControlPlaneUnavailableError` when the
   * database did not answer in time; the start keeps being retried in the background.
   */
  ready(options?: { timeoutMs?: number }): Promise<void>;
  /** The ledger, a `SpendStore`: give it to `spend.store`. Reports also take `bucket: "hour" | "day"`. */
  readonly spend: PostgresSpendStore;
  readonly keys: RuntimeKeys;
  /** The ledger as CSV (RFC 4180, header first) or JSON lines, streamed page by page. */
  exportSpend(options: ExportSpendOptions): AsyncIterable<string>;
  /** USD spent in the period containing `now` by a key and/or a user (records still buffered here are delivered first). */
  spentInPeriod(query: SpentInPeriodQuery): Promise<number>;
  /** USD spent in the current period by every key (or user) that spent anything: seeds budgets at start. */
  spentBy(query: SpentByQuery): Promise<Map<string, number>>;
  /** USD spent in the current period by every (key, user) pair that spent anything: user budgets count per key. */
  spentByKeyAndUser(query: { period: BudgetPeriod; now?: number }): Promise<KeyUserSpend[]>;
  /** Audit rows, oldest first. */
  audit(query?: AuditQuery): Promise<AuditEntry[]>;
  /** Appends an audit row for a change made elsewhere (a budget changed in config). */
  recordAudit(entry: AuditInput): Promise<void>;
  stats(): ControlPlaneStats;
  on<Name extends ControlPlaneEventName>(name: Name, listener: (event: ControlPlaneEventMap[Name]) => void): () => void;
  /** Delivers buffered records once more, stops listening, closes the connections. */
  close(): Promise<void>;
}

const START_RETRY_MIN_MS = 100;
const START_RETRY_MAX_MS = 2_000;
const PERIODS: ReadonlySet<string> = new Set(["day", "week", "month", "total"]);

/**
 * @example
 * import { postgresControlPlane } from "modelgate/postgres";
 * const controlPlane = postgresControlPlane({ url: process.env.DATABASE_URL }); // no url: PGlite in ./.modelgate/
 * await controlPlane.ready();
 * const { secret } = await controlPlane.keys.create({ name: "team-c", budget: { usd: 100, period: "month" } });
 */
export function postgresControlPlane(options: PostgresControlPlaneOptions = {}): PostgresControlPlane {
  const parsed = controlPlaneOptionsSchema.safeParse(options);
  if (!parsed.success) throw new ConfigError(toIssues(parsed.error, ["controlPlane"]));
  const settings = { ...CONTROL_PLANE_DEFAULTS, ...stripUndefined(parsed.data) };
  const schema = settings.schema;
  const url = parsed.data.url;
  const kind = url ? "postgres" : "pglite";
  const events = new ControlPlaneEvents();

  let state: ControlPlaneState = "starting";
  let opened: SqlExecutor | undefined;
  let migrated: SqlExecutor | undefined;
  let unlisten: Unlisten | undefined;
  let refreshTimer: ReturnType<typeof setInterval> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let wakeRetry: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  const setState = (next: "up" | "down", error?: unknown): void => {
    if (state === "closed" || state === next) return;
    state = next;
    events.emit("state", next === "down" ? { state: next, error: describe(error) } : { state: next });
  };
  const executor = (): SqlExecutor | undefined => migrated;

  const spend = postgresSpendStore({
    executor,
    schema,
    events,
    maxPending: settings.maxPendingRecords,
    batchSize: settings.batchSize,
    flushDelayMs: settings.flushDelayMs,
    maxRetryMs: settings.maxRetryMs,
    onOutcome: (error) => (error === undefined ? setState("up") : setState("down", error)),
  });
  const channel = `modelgate_keys_${schema}`;
  const keys = new RuntimeKeyStore({ executor, schema, channel, defaultActor: settings.actor });

  const open = (): Promise<SqlExecutor> =>
    url
      ? pgExecutor({
          url,
          maxConnections: settings.maxConnections,
          queryTimeoutMs: settings.queryTimeoutMs,
          connectTimeoutMs: Math.min(5_000, settings.queryTimeoutMs),
        })
      : pgliteExecutor(resolve(parsed.data.dataDir ?? settings.dataDir, "pgdata"));

  const start = async (): Promise<void> => {
    for (let failures = 0; state !== "closed"; failures++) {
      try {
        opened ??= await open();
        await applyMigrations(opened, schema);
        migrated = opened;
        const db = opened;
        // LISTEN before the first read: a change committed in between is then either in the
        // read or notified, never lost until the periodic re-read.
        unlisten ??= await db.listen(
          channel,
          (name) => void keys.refreshOne(name).catch(() => undefined),
          () => void keys.refresh().catch(() => undefined),
        );
        await keys.refresh();
        if ((state as ControlPlaneState) === "closed") {
          await unlisten();
          break;
        }
        refreshTimer = setInterval(() => {
          keys.refresh().then(
            () => setState("up"),
            (error: unknown) => setState("down", error),
          );
        }, settings.keyRefreshMs);
        refreshTimer.unref?.();
        setState("up");
        void spend.flush();
        return;
      } catch (error) {
        if (error instanceof ConfigError) throw error;
        setState("down", error);
        await new Promise<void>((wake) => {
          wakeRetry = wake;
          retryTimer = setTimeout(wake, Math.min(START_RETRY_MAX_MS, START_RETRY_MIN_MS * 2 ** Math.min(10, failures)));
          retryTimer.unref?.();
        });
      }
    }
    throw new ControlPlaneUnavailableError("start (closed before the database was reached)");
  };
  const started = start();
  // Nobody may be awaiting `ready()`: a failed start must not become an unhandled rejection.
  started.catch(() => undefined);

  const db = (operation: string): SqlExecutor => {
    if (!migrated) throw new ControlPlaneUnavailableError(operation);
    return migrated;
  };

  return {
    kind,
    schema,
    get state() {
      return state;
    },
    ready(readyOptions = {}) {
      const timeoutMs = readyOptions.timeoutMs;
      if (timeoutMs === undefined) return started;
      return new Promise<void>((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new ControlPlaneUnavailableError(`start within ${timeoutMs} ms`)), timeoutMs);
        started.then(
          () => {
            clearTimeout(timer);
            resolvePromise();
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      });
    },
    spend,
    keys,
    exportSpend(exportOptions) {
      const format = exportOptions?.format;
      if (format !== "csv" && format !== "jsonl") throw new InvalidRequestError([{ path: "format", message: "expected csv or jsonl" }], "Invalid spend export:");
      const pageSize = Math.max(1, Math.min(50_000, Math.floor(exportOptions.pageSize ?? 1_000)));
      const range = { since: bound(exportOptions.since, MIN_TIME), until: bound(exportOptions.until, MAX_TIME) };
      return (async function* () {
        await spend.flush();
        try {
          yield* exportSpendLines(db("a spend export"), schema, range, format, pageSize);
        } catch (error) {
          if (error instanceof InvalidRequestError || error instanceof ControlPlaneUnavailableError) throw error;
          throw new ControlPlaneUnavailableError("a spend export", error);
        }
      })();
    },
    async spentInPeriod(query) {
      checkPeriod(query?.period);
      const window = periodWindow(query.period, query.now ?? Date.now());
      await spend.flush();
      return whileAvailable("reading spend", () =>
        sumSpend(db("reading spend"), schema, { key: query.key, user: query.user, since: window.startsAt, until: window.endsAt }),
      );
    },
    async spentBy(query) {
      checkPeriod(query?.period);
      if (query.by !== "key" && query.by !== "user") throw new InvalidRequestError([{ path: "by", message: "expected key or user" }], "Invalid spend query:");
      const window = periodWindow(query.period, query.now ?? Date.now());
      await spend.flush();
      return whileAvailable("reading spend", () => sumSpendBy(db("reading spend"), schema, query.by, { since: window.startsAt, until: window.endsAt }));
    },
    async spentByKeyAndUser(query) {
      checkPeriod(query?.period);
      const window = periodWindow(query.period, query.now ?? Date.now());
      await spend.flush();
      return whileAvailable("reading spend", () => sumSpendByKeyAndUser(db("reading spend"), schema, { since: window.startsAt, until: window.endsAt }));
    },
    audit: (query) => whileAvailable("reading the audit log", () => readAudit(db("reading the audit log"), schema, query)),
    recordAudit: (entry) => whileAvailable("writing the audit log", () => appendAudit(db("writing the audit log"), schema, entry)),
    stats() {
      return { state, ...spend.stats(), cachedKeys: keysCached(keys) };
    },
    on: (name, listener) => events.on(name, listener),
    close() {
      closing ??= (async () => {
        state = "closed";
        if (retryTimer) clearTimeout(retryTimer);
        wakeRetry?.();
        if (refreshTimer) clearInterval(refreshTimer);
        await started.catch(() => undefined);
        await spend.close();
        await unlisten?.().catch(() => undefined);
        await opened?.close().catch(() => undefined);
      })();
      return closing;
    },
  };
}

function keysCached(keys: RuntimeKeyStore): number {
  return keys.cachedCount;
}

function checkPeriod(period: unknown): asserts period is BudgetPeriod {
  if (typeof period !== "string" || !PERIODS.has(period)) {
    throw new InvalidRequestError([{ path: "period", message: "expected day, week, month or total" }], "Invalid spend query:");
  }
}

function bound(value: Date | number | undefined, otherwise: number): number {
  if (value === undefined) return otherwise;
  const ms = value instanceof Date ? value.getTime() : value;
  if (!Number.isFinite(ms)) throw new InvalidRequestError([{ path: "since/until", message: "expected epoch ms or a Date" }], "Invalid spend export:");
  return Math.trunc(ms);
}

/** An error for an event: its message, capped, with any credentials of a connection string masked. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/:\/\/[^\s/@]*@/g, "://***@").slice(0, 300);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
