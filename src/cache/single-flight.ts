import type { Served } from "../core/call-context.js";
import type { GatewayError } from "../core/errors.js";

/** How a flight ended, as its followers see it. */
export type FlightResult =
  /** The leader got an answer: `text` is the serialized `CachedAnswer`, each follower parses its own copy. */
  | { kind: "answer"; text: string; outcome: "exact" | "semantic"; served: Served | undefined }
  /** The providers failed for everyone: followers fail the same way. */
  | { kind: "error"; error: unknown }
  /** The leader failed for its own reasons (abort, its limits, an abandoned stream): followers try again. */
  | { kind: "rerun" };

/** One provider call that identical concurrent calls wait for. */
export interface Flight {
  readonly key: string;
  readonly result: Promise<FlightResult>;
  /** `performance.now()` after which the flight no longer takes followers (its leader's deadline). */
  readonly staleAt: number;
}

interface FlightEntry extends Flight {
  land(result: FlightResult): void;
}

/**
 * In-flight de-duplication: the first call for a key leads (calls the provider), identical
 * calls that arrive meanwhile follow (await its answer). A map entry lives exactly as long as
 * its leader's call, so the map is bounded by the calls in flight; a flight older than its
 * leader's deadline (say, a stream nobody reads) takes no new followers.
 */
export class SingleFlight {
  private readonly flights = new Map<string, FlightEntry>();
  private followed = 0;

  /** Calls that were answered by another call's provider request. */
  get deduplicated(): number {
    return this.followed;
  }

  /** The flight a call for `key` may follow, if one is live. */
  current(key: string, now: number): Flight | undefined {
    const flight = this.flights.get(key);
    return flight && now < flight.staleAt ? flight : undefined;
  }

  /** Starts a flight for `key`, replacing a stale one. */
  lead(key: string, staleAt: number): Flight {
    let land!: (result: FlightResult) => void;
    const result = new Promise<FlightResult>((resolve) => {
      land = resolve;
    });
    const flight: FlightEntry = { key, result, staleAt, land };
    this.flights.set(key, flight);
    return flight;
  }

  /** Ends a flight: its followers wake with `result`. Safe to call more than once. */
  land(flight: Flight, result: FlightResult): void {
    if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
    (flight as FlightEntry).land(result);
  }

  /**
   * Waits for a flight, no longer than the follower's own call allows: rejects with the
   * abort reason when `signal` aborts, with `onTimeout()` after `waitMs`.
   */
  follow(flight: Flight, signal: AbortSignal, waitMs: number, onTimeout: () => GatewayError, abortError: () => GatewayError): Promise<FlightResult> {
    if (signal.aborted) return Promise.reject(abortError());
    return new Promise<FlightResult>((resolve, reject) => {
      let done = false;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        return true;
      };
      const onAbort = (): void => {
        if (finish()) reject(abortError());
      };
      const timer = setTimeout(() => {
        if (finish()) reject(onTimeout());
      }, Math.max(0, waitMs));
      signal.addEventListener("abort", onAbort, { once: true });
      void flight.result.then((result) => {
        if (!finish()) return;
        if (result.kind === "answer") this.followed++;
        resolve(result);
      });
    });
  }

  clear(): void {
    for (const flight of this.flights.values()) flight.land({ kind: "rerun" });
    this.flights.clear();
  }
}
