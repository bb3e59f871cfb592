import type { ChatResponse } from "../core/chat-response.js";

/** Bumped when the stored shape changes, so a shared tier never serves an old shape. */
const FORMAT_VERSION = 1;

/** A stored answer: the response, what it cost, and who served it. */
export interface CachedAnswer {
  response: ChatResponse;
  /** What the call cost when it was served by a provider; a hit reports it as saved. */
  costUsd: number;
  /** The route (the requested one or a fallback) and deployment id that served it. */
  route: string;
  deployment: string;
}

interface StoredAnswer extends CachedAnswer {
  v: number;
}

/**
 * Answers are stored as JSON strings: a hit parses a fresh copy (about 1.5 µs for 1 KB, half of
 * `structuredClone`), so no caller can mutate what the next caller gets; the byte bound counts
 * real sizes; and a shared tier stores the same string.
 */
export function serializeAnswer(answer: CachedAnswer): string {
  // A literal, not `{ v, ...answer }`: V8 builds a spread copy on a slow path. Same keys, same order.
  const stored: StoredAnswer = { v: FORMAT_VERSION, response: answer.response, costUsd: answer.costUsd, route: answer.route, deployment: answer.deployment };
  return JSON.stringify(stored);
}

/** A fresh copy of a stored answer, or undefined when the text is not one (another version, damage). */
export function parseAnswer(text: string): CachedAnswer | undefined {
  let stored: unknown;
  try {
    stored = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof stored !== "object" || stored === null) return undefined;
  const candidate = stored as Partial<StoredAnswer>;
  if (candidate.v !== FORMAT_VERSION || !Array.isArray(candidate.response?.choices)) return undefined;
  return {
    response: candidate.response,
    costUsd: typeof candidate.costUsd === "number" ? candidate.costUsd : 0,
    route: String(candidate.route ?? ""),
    deployment: String(candidate.deployment ?? ""),
  };
}

/**
 * Only whole answers are stored: one that stopped on its own or to call tools. A cut answer
 * (`length`), a filtered one (`content_filter`) or one without a finish reason (a broken
 * stream) would be wrong to serve again; so would one with fewer choices than the request's `n`
 * (a stream assembled from its first choice only).
 */
export function isStorable(response: ChatResponse | undefined, choices = 1): response is ChatResponse {
  if (!response || response.choices.length !== choices) return false;
  return response.choices.every((choice) => choice.finish_reason === "stop" || choice.finish_reason === "tool_calls");
}
