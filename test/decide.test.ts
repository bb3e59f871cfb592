import { describe, expect, it } from "vitest";
import { BudgetExceededError, InvalidRequestError, ProviderError, TimeoutError, type GatewayError } from "../src/core/errors.js";
import { decide, type Decision, type DecisionFacts } from "../src/routing/decide.js";

const base: DecisionFacts = {
  callAborted: false,
  now: 1_000,
  deadline: 100_000,
  retries: 2,
  minDelayMs: 100,
  maxDelayMs: 4_000,
  timeoutMs: 60_000,
  configuredTimeoutMs: 60_000,
  unavailableForMs: 0,
  random: () => 0,
};

const retryable = (retryAfterMs?: number): ProviderError =>
  new ProviderError("503", { provider: "p", status: 503, retryable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
const fatal = new ProviderError("400", { provider: "p", status: 400, retryable: false });

// One row per rule of the policy, in the order decide applies them.
const table: [string, GatewayError, number, Partial<DecisionFacts>, Decision][] = [
  ["the caller aborted: end, whatever the error", retryable(), 1, { callAborted: true }, { kind: "end", reason: "aborted" }],
  ["a timeout at the deadline: end", new TimeoutError(50), 1, { now: 100_000 }, { kind: "end", reason: "deadline" }],
  ["a timeout before the deadline: retry", new TimeoutError(60_000), 1, {}, { kind: "retry", delayMs: 50, blame: true }],
  ["not retryable: next, without blame", fatal, 1, {}, { kind: "next", blame: false }],
  [
    "an answer the adapter cannot read: no retry here, but blamed and falling back",
    new ProviderError("unreadable", { provider: "p", retryable: false, type: "invalid_response" }),
    1,
    {},
    { kind: "next", blame: true, fallBack: true },
  ],
  [
    "an unreadable answer with nowhere to fall back: next, the caller gets it",
    new ProviderError("unreadable", { provider: "p", retryable: false, type: "invalid_response" }),
    1,
    { lastResort: true },
    { kind: "next", blame: true },
  ],
  ["an invalid request: next, without blame", new InvalidRequestError([{ path: "seed", message: "x" }]), 1, {}, { kind: "next", blame: false }],
  ["a gateway error that is no provider failure: next", new BudgetExceededError("key", 1, 1, "day"), 1, {}, { kind: "next", blame: false }],
  ["Retry-After above maxDelayMs: cool for it", retryable(30_000), 1, {}, { kind: "cool", durationMs: 30_000 }],
  ["Retry-After above maxDelayMs on the last try: still cool", retryable(30_000), 3, {}, { kind: "cool", durationMs: 30_000 }],
  [
    "Retry-After within maxDelayMs: retry after exactly it, cooling for it instead of blaming",
    retryable(1_500),
    1,
    {},
    { kind: "retry", delayMs: 1_500, blame: false, coolMs: 1_500 },
  ],
  ["Retry-After on the last try: cool for it", retryable(1_500), 3, {}, { kind: "cool", durationMs: 1_500 }],
  ["cooled meanwhile for no longer than the Retry-After: retry", retryable(1_000), 1, { unavailableForMs: 1_000 }, { kind: "retry", delayMs: 1_000, blame: false, coolMs: 1_000 }],
  ["cooled meanwhile, but no other candidate: keep retrying here", retryable(), 1, { unavailableForMs: 30_000, lastResort: true }, { kind: "retry", delayMs: 50, blame: true }],
  ["a 404 (retired model): eject and fall back", new ProviderError("404", { provider: "p", status: 404, retryable: false }), 1, {}, { kind: "eject" }],
  ["a 401 (revoked key): eject and fall back", new ProviderError("401", { provider: "p", status: 401, retryable: false }), 1, {}, { kind: "eject" }],
  ["a 404 with no other candidate: the error ends the call, nothing cools", new ProviderError("404", { provider: "p", status: 404, retryable: false }), 1, { lastResort: true }, { kind: "next", blame: false }],
  ["a 422 ends the call", new ProviderError("422", { provider: "p", status: 422, retryable: false }), 1, {}, { kind: "next", blame: false }],
  ["a route's own fallbackOn: 400 falls back, 404 does not", new ProviderError("404", { provider: "p", status: 404, retryable: false }), 1, { fallbackOn: [400] }, { kind: "next", blame: false }],
  ["a stream error type in fallbackOn", new ProviderError("x", { provider: "p", retryable: false, type: "model_not_found" }), 1, { fallbackOn: ["model_not_found"] }, { kind: "eject" }],
  ["no Retry-After: retry after backoff", retryable(), 2, {}, { kind: "retry", delayMs: 100, blame: true }],
  ["retries spent: next, with blame", retryable(), 3, {}, { kind: "next", blame: true }],
  ["cooled meanwhile elsewhere: next", retryable(), 1, { unavailableForMs: 5_000 }, { kind: "next", blame: true }],
  ["the wait would pass the deadline: next", retryable(), 1, { deadline: 1_040 }, { kind: "next", blame: true }],
  [
    "a timeout shorter than the deployment's own: retry without blame",
    new TimeoutError(5_000),
    1,
    { timeoutMs: 5_000 },
    { kind: "retry", delayMs: 50, blame: false },
  ],
  ["no retries configured: next", retryable(), 1, { retries: 0 }, { kind: "next", blame: true }],
];

describe("decide: the router's retry and cooldown policy", () => {
  it.each(table)("%s", (_rule, failure, attempt, facts, expected) => {
    expect(decide(failure, attempt, { ...base, ...facts })).toEqual(expected);
  });

  it("keeps the backoff within [ceiling / 2, ceiling] with real jitter", () => {
    for (let i = 0; i < 200; i++) {
      const decision = decide(retryable(), 2, { ...base, random: Math.random });
      expect(decision.kind).toBe("retry");
      const { delayMs } = decision as Extract<Decision, { kind: "retry" }>;
      expect(delayMs).toBeGreaterThanOrEqual(100);
      expect(delayMs).toBeLessThanOrEqual(200);
    }
  });
});
