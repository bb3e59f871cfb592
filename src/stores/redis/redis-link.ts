import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/** `up`: commands reach Redis. `down`: they fail or are not tried (the failure policy applies). */
export type RedisLinkState = "up" | "down";

export interface RedisLinkOptions {
  /** Longest any caller waits on Redis for one command. */
  readonly commandTimeoutMs: number;
  /**
   * Longest calls wait for the first connection, before the failure policy may apply: a
   * process that just started has no shared count yet, and counting alone from zero would
   * let a fleet admit N times its limits.
   */
  readonly firstConnectTimeoutMs: number;
  /** After a failed command, how long commands are not tried (calls go to the failure policy at once). */
  readonly pauseAfterFailureMs: number;
  /** Told on every change between up and down, with the error that took the link down. */
  readonly onStateChange: (state: RedisLinkState, error?: unknown) => void;
}

/** A Lua script defined on the connection: `(numberOfKeys, ...keysThenArguments)`. */
export type ScriptRunner = (numberOfKeys: number, ...keysThenArguments: string[]) => Promise<unknown>;

/**
 * One ioredis connection as the store uses it. It answers, without a round trip, whether a
 * command may be sent now: not while the connection is not ready, and not for
 * `pauseAfterFailureMs` after a failure, so a stalled server costs one `commandTimeoutMs` per
 * pause rather than one per call. It tracks up/down from command outcomes (the only sure
 * sign), times every command out itself (see `withTimeout`), and disconnects only a client it
 * created.
 */
export class RedisLink {
  private pausedUntil = 0;
  /** What took the link down last, for the `cause` of a refusal. */
  lastError: unknown;
  private state: RedisLinkState = "up";
  private firstReady: Promise<void> | undefined;
  private readonly onReady = (): void => {
    this.firstReady = undefined;
    this.resolveFirstReady?.();
  };
  private resolveFirstReady: (() => void) | undefined;

  constructor(
    readonly client: Redis,
    /** True when this link created the client and so must disconnect it. */
    readonly owned: boolean,
    private readonly options: RedisLinkOptions,
  ) {
    if (client.status !== "ready") {
      this.firstReady = new Promise((resolve) => {
        this.resolveFirstReady = resolve;
      });
      client.once("ready", this.onReady);
      // A client made with `lazyConnect` connects on its first command, which a client
      // without an offline queue refuses: connect it now.
      if (client.status === "wait") client.connect().catch(() => undefined);
    }
  }

  /** True when the connection is ready now, whatever the pause says (for the last delivery at close). */
  get connected(): boolean {
    return this.client.status === "ready";
  }

  /**
   * True when the link is up, out of any pause and connected, answered without waiting. For
   * work beside the calls (budget reads, alert claims): never sent while the link is in doubt.
   */
  get ready(): boolean {
    return this.state === "up" && performance.now() >= this.pausedUntil && this.client.status === "ready";
  }

  /**
   * Sends a command beside the calls: timed out like `run`, but its outcome leaves up/down and
   * the pause alone, so a read stuck on a stalled server never refuses or delays a call (the
   * calls' own commands judge the link).
   */
  runAside<T>(command: () => Promise<T>): Promise<T> {
    return this.withTimeout(command());
  }

  /**
   * True when a command may be sent now. Waits only before the connection was ever ready (a
   * gateway's first calls right after start), and then at most `firstConnectTimeoutMs`.
   */
  usable(): boolean | Promise<boolean> {
    if (performance.now() < this.pausedUntil) return false;
    const status = this.client.status;
    if (status === "ready") return true;
    if (this.firstReady && (status === "wait" || status === "connecting" || status === "connect")) {
      return this.waitForFirstReady();
    }
    this.failed(new Error(`Redis connection is ${status}`));
    return false;
  }

  private async waitForFirstReady(): Promise<boolean> {
    const firstReady = this.firstReady!;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Lag-aware like `withTimeout`: a start-up that kept the event loop busy must not count
    // as Redis failing to connect while its "ready" waits to be read.
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => setImmediate(() => resolve(false)), this.options.firstConnectTimeoutMs);
    });
    const ready = await Promise.race([firstReady.then(() => true), timedOut]);
    clearTimeout(timer);
    if (ready && this.client.status === "ready") return true;
    this.failed(new Error(`Redis did not connect within ${this.options.firstConnectTimeoutMs} ms`));
    return false;
  }

  /** Sends a command under the time limit; its outcome moves the link up or down. */
  async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      const result = await this.withTimeout(command());
      // Redis answered: the pause after an earlier failure no longer applies.
      this.pausedUntil = 0;
      if (this.state === "down") this.setState("up");
      return result;
    } catch (error) {
      this.failed(error);
      throw error;
    }
  }

  /** Marks the link down and pauses commands (a connection error, a timeout, a refused command). */
  failed(error: unknown): void {
    this.lastError = error;
    this.pausedUntil = performance.now() + this.options.pauseAfterFailureMs;
    if (this.state === "up") this.setState("down", error);
  }

  get isDown(): boolean {
    return this.state === "down";
  }

  /**
   * Defines a script once per client (EVALSHA, re-sent as EVAL after a server restart lost it).
   * The name carries a hash of the source, so two versions of modelgate on one client never
   * run each other's scripts.
   */
  defineScript(label: string, lua: string): ScriptRunner {
    const name = `modelgate_${label}_${createHash("sha1").update(lua).digest("hex").slice(0, 12)}`;
    const commands = this.client as unknown as Record<string, ScriptRunner | undefined>;
    if (typeof commands[name] !== "function") this.client.defineCommand(name, { lua });
    const runner = commands[name]!;
    return (numberOfKeys, ...keysThenArguments) => runner.call(this.client, numberOfKeys, ...keysThenArguments);
  }

  /** Disconnects the client when this link created it; a user's client is left as it was. */
  close(): void {
    this.client.off("ready", this.onReady);
    this.resolveFirstReady?.();
    if (this.owned) this.client.disconnect();
  }

  private setState(state: RedisLinkState, error?: unknown): void {
    this.state = state;
    this.options.onStateChange(state, error);
  }

  /**
   * Rejects after `commandTimeoutMs`, but only once our own event loop had a turn to read a
   * reply: when this process was busy (a long synchronous task) the timer fires late, with the
   * answer perhaps already waiting on the socket. `setImmediate` runs after the poll phase that
   * reads it, so lag in this process is never mistaken for a Redis outage. (ioredis's own
   * `commandTimeout` lacks this, which is why an owned client does not use it.)
   */
  private withTimeout<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        setImmediate(() => {
          if (settled) return;
          settled = true;
          reject(new Error(`Redis command timed out after ${this.options.commandTimeoutMs} ms`));
        });
      }, this.options.commandTimeoutMs);
      work.then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}
