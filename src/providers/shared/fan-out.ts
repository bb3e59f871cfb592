import type { ChatRequest } from "../../core/chat-request.js";
import type { ChatResponse, Usage } from "../../core/chat-response.js";
import { InvalidRequestError } from "../../core/errors.js";
import type { AdapterContext } from "../../core/provider-adapter.js";

/**
 * `n` > 1 for a provider that returns one answer per call: n calls in parallel, merged into one
 * response whose choices are indexed 0..n-1 and whose usage is the sum (each call was billed,
 * prompt included, so the cost counts all of them). The first failure aborts the others and is
 * the call's error: a partial set of choices is not what was asked for.
 */
export async function fanOutChat(
  request: ChatRequest,
  ctx: AdapterContext,
  once: (request: ChatRequest, ctx: AdapterContext) => Promise<ChatResponse>,
): Promise<ChatResponse> {
  const n = request.n ?? 1;
  const { n: _n, ...single } = request;
  if (n <= 1) return once(single, ctx);
  const siblings = new AbortController();
  const signal = AbortSignal.any([ctx.signal, siblings.signal]);
  const calls = Array.from({ length: n }, () =>
    once(single, { ...ctx, signal }).catch((error: unknown) => {
      siblings.abort(error);
      throw error;
    }),
  );
  const responses = await Promise.all(calls);
  return mergeResponses(responses);
}

/** Refuses `n` > 1 on a stream: interleaving n upstream streams into one is not offered. */
export function refuseStreamedFanOut(request: ChatRequest, provider: string): void {
  if ((request.n ?? 1) <= 1) return;
  throw new InvalidRequestError(
    [{ path: "n", message: `${provider} cannot serve n > 1 when streaming (it returns one answer per call): use chat(), or n: 1` }],
    `Chat request cannot be served by ${provider}:`,
  );
}

function mergeResponses(responses: readonly ChatResponse[]): ChatResponse {
  const first = responses[0]!;
  const merged: ChatResponse = {
    ...first,
    choices: responses.map((response, index) => ({ ...response.choices[0]!, index })),
  };
  const usages = responses.map((response) => response.usage).filter((usage): usage is Usage => usage !== undefined);
  if (usages.length === responses.length) merged.usage = sumCounts(usages) as unknown as Usage;
  else delete merged.usage;
  return merged;
}

/** Adds every numeric field, recursively (usage detail objects included). */
function sumCounts(values: readonly object[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const value of values) {
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === "number") out[key] = ((out[key] as number | undefined) ?? 0) + item;
      else if (typeof item === "object" && item !== null && !Array.isArray(item)) {
        const previous = out[key];
        out[key] = previous === undefined ? sumCounts([item]) : sumCounts([previous as object, item]);
      } else if (!(key in out)) out[key] = item;
    }
  }
  return out;
}
