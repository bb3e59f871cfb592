import type { CallContext, Served } from "../core/call-context.js";
import { embeddingUsageResponse, type EmbeddingCall, type EmbeddingResult } from "../core/embedding-request.js";
import type { GatewayEvents } from "../core/events.js";
import { withIdentity } from "../core/identity.js";
import { report } from "../core/report.js";
import type { RouteTable } from "../core/route.js";
import { whenSettled } from "../core/settle.js";
import type { CacheStore } from "../stores/cache-store.js";
import { sha256Base64url } from "./sha256.js";

/** Bumped when the stored shape changes, so a shared tier never serves an old shape. */
const FORMAT_VERSION = 1;

/** A stored embeddings answer: the vectors and usage, what they cost, who served them. */
interface StoredEmbeddings {
  v: number;
  kind: "embeddings";
  result: EmbeddingResult;
  costUsd: number;
  route: string;
  deployment: string;
}

/** What the exact tier needs from the cache it belongs to. */
export interface EmbeddingCacheDependencies {
  store: CacheStore;
  ttlMs: number;
  table: RouteTable;
  events: GatewayEvents;
  /** Counts a hit or a miss in the exact tier's stats. */
  count(hit: boolean): void;
}

/**
 * The exact tier for embeddings: same inputs, dimensions and encoding on the same route within
 * the same scope get the stored vectors. Keyed apart from chat answers (an `embeddings` tag in
 * the hashed material), never semantic: a near-duplicate text has its own vector.
 */
export function embeddingCacheKey(call: EmbeddingCall, routeName: string, prefix: string): string {
  const { dimensions, encoding_format: encoding } = call.request;
  const material = `${prefix}\nembeddings\n${JSON.stringify(routeName)}\n${JSON.stringify([dimensions ?? null, encoding ?? null])}\n${JSON.stringify(call.inputs)}`;
  return sha256Base64url(material);
}

/** Looks the call up, serves a hit, stores a miss's answer once the call settles. */
export async function embeddingCacheStep(
  ctx: CallContext,
  call: EmbeddingCall,
  key: string,
  lookUp: boolean,
  next: () => Promise<void>,
  dependencies: EmbeddingCacheDependencies,
): Promise<void> {
  const { store, events } = dependencies;
  if (lookUp) {
    const stored = parse(await store.get(key).catch(() => undefined));
    dependencies.count(stored !== undefined);
    if (stored) {
      ctx.embeddings = stored.result;
      ctx.response = embeddingUsageResponse(stored.result, Math.floor(Date.now() / 1000));
      ctx.cache = "exact";
      ctx.costUsd = 0;
      ctx.savedUsd = stored.costUsd;
      const served = servedBy(dependencies.table, stored);
      if (served) ctx.served = served;
      report(events, ctx, "cache", () => withIdentity(ctx, { outcome: "exact" as const, savedUsd: stored.costUsd }));
      return;
    }
  }
  await next();
  whenSettled(ctx, (settlement) => {
    if (settlement.error !== undefined || !ctx.embeddings) return;
    const entry: StoredEmbeddings = {
      v: FORMAT_VERSION,
      kind: "embeddings",
      result: ctx.embeddings,
      costUsd: ctx.costUsd,
      route: ctx.served?.route.name ?? ctx.route.name,
      deployment: ctx.served?.deployment.id ?? "",
    };
    // A store that cannot take the answer costs a future hit, never this call.
    store.set(key, JSON.stringify(entry), dependencies.ttlMs).catch(() => undefined);
  });
}

function parse(text: string | undefined): StoredEmbeddings | undefined {
  if (text === undefined) return undefined;
  let stored: unknown;
  try {
    stored = JSON.parse(text);
  } catch {
    return undefined;
  }
  const candidate = stored as Partial<StoredEmbeddings> | null;
  if (candidate?.v !== FORMAT_VERSION || candidate.kind !== "embeddings" || !Array.isArray(candidate.result?.vectors)) return undefined;
  return {
    v: FORMAT_VERSION,
    kind: "embeddings",
    result: candidate.result,
    costUsd: typeof candidate.costUsd === "number" ? candidate.costUsd : 0,
    route: String(candidate.route ?? ""),
    deployment: String(candidate.deployment ?? ""),
  };
}

function servedBy(table: RouteTable, stored: StoredEmbeddings): Served | undefined {
  const route = table.resolve(stored.route);
  const deployment = route?.deployments.find((candidate) => candidate.id === stored.deployment);
  return route && deployment ? { route, deployment } : undefined;
}
