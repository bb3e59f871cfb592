/** One connection's worth of SQL: the same statements run on Postgres (`pg`) and on PGlite. */
export interface SqlSession {
  /** Runs one statement with `$1`-style parameters and returns its rows. */
  query<Row extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Row[]>;
}

/** Stops a `listen` subscription. */
export type Unlisten = () => Promise<void>;

/**
 * What the control plane needs from a database, small enough that a server (through a pool)
 * and an embedded PGlite both fit behind it.
 */
export interface SqlExecutor extends SqlSession {
  readonly kind: "postgres" | "pglite";
  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  /**
   * Subscribes to NOTIFY on `channel` (a plain lowercase identifier). `onReconnect` is told when
   * the subscription came back after a lost connection: notifications may have been missed.
   */
  listen(channel: string, onNotify: (payload: string) => void, onReconnect: () => void): Promise<Unlisten>;
  close(): Promise<void>;
}
