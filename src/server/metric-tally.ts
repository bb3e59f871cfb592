import type { Counter } from "prom-client";

/**
 * A counter's increments summed in a plain map keyed by the label values, handed to
 * prom-client only when the registry is scraped. prom-client's `inc()` hashes and validates
 * its label object on every call (measured: a few percent of a proxied request's CPU); a scrape
 * is rare, a request is not. Label sets stay the bounded ones the caller passes.
 */
export interface Tally {
  add(values: readonly string[], amount: number): void;
  /** Copies the sums into the counter; runs as the counter's `collect`. */
  flush(counter: Counter<string>): void;
}

export function createTally(labelNames: readonly string[]): Tally {
  const sums = new Map<string, { labels: Record<string, string>; value: number }>();
  return {
    add(values, amount) {
      const id = values.length === 1 ? values[0]! : values.join("\u0000");
      const entry = sums.get(id);
      if (entry) {
        entry.value += amount;
        return;
      }
      const labels: Record<string, string> = {};
      labelNames.forEach((name, index) => (labels[name] = values[index]!));
      sums.set(id, { labels, value: amount });
    },
    flush(counter) {
      counter.reset();
      for (const { labels, value } of sums.values()) counter.inc(labels, value);
    },
  };
}
