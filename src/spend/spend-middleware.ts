import { uniqueIds } from "../core/unique-ids.js";
import type { Middleware } from "../core/compose.js";
import type { CallContext } from "../core/call-context.js";
import { whenSettled } from "../core/settle.js";
import { SpendLedger, type SpendReporter } from "./spend-ledger.js";
import type { SpendRecord } from "./spend-record.js";
import type { SpendConfig } from "./spend-schema.js";

/** The spend step and what it feeds. */
export interface Spend {
  readonly middleware: Middleware<CallContext>;
  /** `gateway.spend`. */
  readonly reporter: SpendReporter;
  /** Delivers buffered records once more and closes the spend store. */
  close(): Promise<void>;
}

/**
 * One spend record per call, written when the call settles: outside the cache, so hits are
 * recorded (cost 0, `savedUsd` set); inside nothing that could answer twice. A call that fails
 * before an answer writes nothing (retried and fallen-back attempts are free); a stream that
 * fails or is abandoned writes what was delivered. Always registered: one object per call,
 * handed to the ledger's buffer.
 */
export function createSpend(
  config: SpendConfig | undefined,
  now: () => number = Date.now,
  /** Also handed each record as it is written (alerts read settled spend here). */
  onSettled?: (record: SpendRecord) => void,
): Spend {
  const ledger = new SpendLedger(config);
  const nextId = uniqueIds();
  return {
    middleware: async function spend(ctx, next) {
      await next();
      whenSettled(ctx, () => {
        const record = toRecord(ctx, nextId(), now());
        ledger.add(record);
        onSettled?.(record);
      });
    },
    reporter: { report: (query) => ledger.report(query) },
    close: () => ledger.close(),
  };
}

function toRecord(ctx: CallContext, id: string, time: number): SpendRecord {
  const hit = ctx.cache === "exact" || ctx.cache === "semantic";
  // A cache hit billed nothing, whatever the answer once cost: that is its `savedUsd`.
  const usage = hit ? undefined : ctx.usage;
  const served = hit ? undefined : ctx.served;
  return {
    id,
    time,
    key: ctx.options.key,
    user: ctx.options.user,
    tags: ctx.options.tags ?? [],
    model: ctx.request.model,
    route: ctx.served?.route.name ?? ctx.route.name,
    deployment: served?.deployment.id ?? "",
    provider: served?.deployment.provider ?? "",
    inputTokens: usage?.prompt_tokens ?? 0,
    outputTokens: usage?.completion_tokens ?? 0,
    cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
    // A semantic hit still paid for its lookup's embedding (`extraCostUsd`); an exact hit paid nothing.
    costUsd: hit ? (ctx.extraCostUsd ?? 0) : ctx.costUsd,
    savedUsd: ctx.savedUsd,
    cache: ctx.cache,
    estimated: !hit && ctx.costEstimated === true,
    ...(ctx.cascade && !hit ? { cascade: ctx.cascade } : {}),
  };
}
