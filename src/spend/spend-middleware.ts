import { uniqueIds } from "../core/unique-ids.js";
import type { Middleware } from "../core/compose.js";
import type { CallContext } from "../core/call-context.js";
import { settleFailedCall, whenSettled, type Settlement } from "../core/settle.js";
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
      const write = (settlement: Settlement): void => {
        const record = toRecord(ctx, settlement, nextId(), now());
        ledger.add(record);
        onSettled?.(record);
      };
      try {
        await next();
      } catch (error) {
        // A call that failed after paying for something on the way (a semantic lookup's
        // embedding, earlier cascade tiers, judge checks) is recorded with that cost; one that
        // paid nothing leaves no record, as before.
        const settlement = settleFailedCall(ctx, error);
        if (settlement.costUsd > 0) write(settlement);
        throw error;
      }
      whenSettled(ctx, write);
    },
    reporter: { report: (query) => ledger.report(query) },
    close: () => ledger.close(),
  };
}

function toRecord(ctx: CallContext, settlement: Settlement, id: string, time: number): SpendRecord {
  const hit = settlement.cache === "exact" || settlement.cache === "semantic";
  // A cache hit billed nothing, whatever the answer once cost: that is its `savedUsd`.
  const usage = settlement.usage;
  const served = hit ? undefined : settlement.served;
  // A literal, then `cascade` only when set: a spread in a literal takes V8's slow path.
  const record: { -readonly [Field in keyof SpendRecord]: SpendRecord[Field] } = {
    id,
    time,
    key: ctx.options.key,
    user: ctx.options.user,
    tags: ctx.options.tags ?? [],
    model: ctx.request.model,
    route: settlement.served?.route.name ?? ctx.route.name,
    deployment: served?.deployment.id ?? "",
    provider: served?.deployment.provider ?? "",
    inputTokens: usage?.prompt_tokens ?? 0,
    outputTokens: usage?.completion_tokens ?? 0,
    cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
    costUsd: settlement.costUsd,
    savedUsd: settlement.savedUsd,
    cache: settlement.cache,
    estimated: settlement.costEstimated,
  };
  if (ctx.cascade && !hit) record.cascade = ctx.cascade;
  return record;
}
