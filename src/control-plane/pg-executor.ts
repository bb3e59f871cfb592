import type { Client as PgClient, Pool as PgPool, PoolConfig } from "pg";
import { loadDriver } from "./load-driver.js";
import type { SqlExecutor, SqlSession, Unlisten } from "./sql-executor.js";

export interface PgExecutorOptions {
  url: string;
  /** Most connections in the pool. */
  maxConnections: number;
  /** A query that takes longer fails (and its work is retried): a stalled server must not hold writes forever. */
  queryTimeoutMs: number;
  connectTimeoutMs: number;
}

const LISTEN_RETRY_MIN_MS = 250;
const LISTEN_RETRY_MAX_MS = 5_000;

type PgModule = { Pool: new (config: PoolConfig) => PgPool; Client: new (config: PoolConfig) => PgClient };

/** A Postgres server through node-postgres: a pool for statements, one dedicated connection for LISTEN. */
export async function pgExecutor(options: PgExecutorOptions): Promise<SqlExecutor> {
  const loaded = await loadDriver("pg", "url", () => import("pg"));
  const pg = ((loaded as { default?: PgModule }).default ?? loaded) as PgModule;
  const config: PoolConfig = {
    connectionString: options.url,
    max: options.maxConnections,
    connectionTimeoutMillis: options.connectTimeoutMs,
    query_timeout: options.queryTimeoutMs,
    idleTimeoutMillis: 10_000,
    application_name: "modelgate",
  };
  const pool = new pg.Pool(config);
  // An idle connection the server dropped (a restart) is reported here; without a listener
  // node-postgres would crash the process. The next query opens a new connection.
  pool.on("error", () => undefined);

  const session = (run: (text: string, params: unknown[]) => Promise<{ rows: unknown[] }>): SqlSession => ({
    async query<Row extends object>(text: string, params: readonly unknown[] = []) {
      const result = await run(text, [...params]);
      return result.rows as Row[];
    },
  });
  const pooled = session((text, params) => pool.query(text, params));

  return {
    kind: "postgres",
    query: pooled.query,
    async transaction(work) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query("BEGIN");
        const result = await work(session((text, params) => client.query(text, params)));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
    listen: (channel, onNotify, onReconnect) => listenOn(pg, config, channel, onNotify, onReconnect),
    async close() {
      await pool.end();
    },
  };
}

/**
 * LISTEN on a connection of its own, reconnected with backoff whenever it is lost; after a
 * reconnect `onReconnect` runs, since notifications sent meanwhile are gone.
 */
async function listenOn(
  pg: PgModule,
  config: PoolConfig,
  channel: string,
  onNotify: (payload: string) => void,
  onReconnect: () => void,
): Promise<Unlisten> {
  let stopped = false;
  let client: PgClient | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;

  const connect = async (isReconnect: boolean): Promise<void> => {
    const next = new pg.Client({ ...config, query_timeout: undefined });
    const lost = (): void => {
      if (client !== next) return;
      client = undefined;
      next.end().catch(() => undefined);
      schedule();
    };
    next.on("error", lost);
    next.on("end", lost);
    next.on("notification", (message) => {
      if (message.channel === channel) onNotify(message.payload ?? "");
    });
    try {
      await next.connect();
      await next.query(`LISTEN "${channel}"`);
    } catch (error) {
      next.end().catch(() => undefined);
      throw error;
    }
    if (stopped) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
    failures = 0;
    if (isReconnect) onReconnect();
  };

  const schedule = (): void => {
    if (stopped || timer) return;
    failures++;
    const delay = Math.min(LISTEN_RETRY_MAX_MS, LISTEN_RETRY_MIN_MS * 2 ** Math.min(10, failures - 1));
    timer = setTimeout(() => {
      timer = undefined;
      connect(true).catch(schedule);
    }, delay);
    timer.unref?.();
  };

  // The first connection may fail (the server is down at start): keep trying in the background.
  await connect(false).catch(schedule);
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    const open = client;
    client = undefined;
    await open?.end().catch(() => undefined);
  };
}
