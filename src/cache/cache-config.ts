import { z } from "zod";

/**
 * Turns texts into vectors for the semantic tier. Any embedding model works; vectors are
 * normalized by the gateway, so only their direction matters.
 *
 * @example
 * const embed: EmbedFunction = async (texts) => (await openaiClient.embeddings.create({ model: "text-embedding-3-small", input: texts })).data.map((d) => d.embedding);
 */
export type EmbedFunction = (texts: string[]) => Promise<number[][]>;

const positiveInt = z.number().int().positive();

const similarityMessage = "expected a cosine similarity in (0, 1], e.g. 0.95";

const embedMessage =
  "expected 'provider/model' naming a configured provider's embedding model (e.g. 'openai/text-embedding-3-small') or an async (texts) => vectors function";

const embedSchema = z.union(
  [z.string().regex(/^[^/\s]+\/\S+$/, embedMessage), z.custom<EmbedFunction>((value) => typeof value === "function", embedMessage)],
  { error: embedMessage },
);

export const exactCacheConfigSchema = z
  .object({
    /** Bound on the stored answers, in bytes (default 64 MiB). */
    maxBytes: positiveInt.optional(),
    /** How long an answer may be served (default 1 hour). */
    ttlMs: positiveInt.optional(),
  })
  .strict();

export const semanticCacheConfigSchema = z
  .object({
    /** `"provider/model"` (that provider's adapter `embed()`), or a function. */
    embed: embedSchema,
    /** Serve a stored answer when the cosine similarity of the conversations is at least this. */
    threshold: z.number().gt(0, similarityMessage).lte(1, similarityMessage),
    /**
     * The lowest threshold a call may ask for with `{ semanticThreshold }` (default: `threshold`,
     * so calls may only be stricter than the config).
     */
    minThreshold: z.number().gt(0, similarityMessage).lte(1, similarityMessage).optional(),
    /** Longer conversations are served by the exact tier only (default 4). */
    maxMessages: positiveInt.optional(),
    /** Bound on stored vectors across all scopes; the least recently used go first (default 5,000; about entries × dimensions × 4 bytes). */
    maxEntries: positiveInt.optional(),
    /** How long a vector may match (default: the exact tier's `ttlMs`). */
    ttlMs: positiveInt.optional(),
    /** Longest wait for an embedding before the call goes on without the semantic tier (default 2,000). */
    embedTimeoutMs: positiveInt.optional(),
  })
  .strict()
  .refine((semantic) => semantic.minThreshold === undefined || semantic.minThreshold <= semantic.threshold, {
    path: ["minThreshold"],
    message: "must not be above threshold: it is the floor a call's semanticThreshold cannot go below",
  });

export const cacheScopeSchema = z.enum(["key", "user", "global"]);

/** The `cache` section of the gateway config. */
export const cacheConfigSchema = z
  .object({
    exact: exactCacheConfigSchema.optional(),
    semantic: semanticCacheConfigSchema.optional(),
    /** Who may share answers: `key` (default), `user` (one end user of one key), `global`. */
    scope: cacheScopeSchema.optional(),
  })
  .strict();

export type CacheConfig = z.infer<typeof cacheConfigSchema>;
export type SemanticCacheConfig = z.infer<typeof semanticCacheConfigSchema>;

/** Defaults of the `cache` section, in one place so README and code agree. */
export const CACHE_DEFAULTS = {
  maxBytes: 64 * 2 ** 20,
  ttlMs: 3_600_000,
  scope: "key",
  maxMessages: 4,
  maxEntries: 5_000,
  embedTimeoutMs: 2_000,
} as const;
