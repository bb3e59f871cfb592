/**
 * Attribute and instrument names from the OpenTelemetry GenAI semantic conventions (v1.41),
 * spelled out here rather than imported: `@opentelemetry/semantic-conventions` marks every
 * gen_ai name experimental and would be one more runtime dependency.
 */

export const GEN_AI_OPERATION_NAME = "gen_ai.operation.name";
/** The provider attribute of the latest conventions (v1.37 and later). */
export const GEN_AI_PROVIDER_NAME = "gen_ai.provider.name";
/** The provider attribute of v1.36 and earlier, replaced by `gen_ai.provider.name`. */
export const GEN_AI_SYSTEM = "gen_ai.system";
export const GEN_AI_REQUEST_MODEL = "gen_ai.request.model";
export const GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature";
export const GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p";
export const GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens";
export const GEN_AI_REQUEST_SEED = "gen_ai.request.seed";
export const GEN_AI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences";
export const GEN_AI_REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty";
export const GEN_AI_REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty";
export const GEN_AI_REQUEST_STREAM = "gen_ai.request.stream";
export const GEN_AI_OUTPUT_TYPE = "gen_ai.output.type";
export const GEN_AI_RESPONSE_MODEL = "gen_ai.response.model";
export const GEN_AI_RESPONSE_ID = "gen_ai.response.id";
export const GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons";
export const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk";
/** All input tokens, cached and cache-written ones included. */
export const GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens";
/** All output tokens, reasoning ones included. */
export const GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens";
export const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens";
export const GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens";
export const GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens";
export const GEN_AI_TOKEN_TYPE = "gen_ai.token.type";
export const GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages";
export const GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages";
/** v1.36 and earlier: content as span events carrying these attributes. */
export const GEN_AI_CONTENT_PROMPT_EVENT = "gen_ai.content.prompt";
export const GEN_AI_CONTENT_COMPLETION_EVENT = "gen_ai.content.completion";
export const GEN_AI_PROMPT = "gen_ai.prompt";
export const GEN_AI_COMPLETION = "gen_ai.completion";
export const SERVER_ADDRESS = "server.address";
export const ERROR_TYPE = "error.type";

export const METRIC_OPERATION_DURATION = "gen_ai.client.operation.duration";
export const METRIC_TOKEN_USAGE = "gen_ai.client.token.usage";
export const METRIC_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk";

/** Seconds: the spec's advisory boundaries for operation duration (and time to first chunk). */
export const DURATION_BUCKETS: readonly number[] = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/** Tokens: the spec's advisory boundaries for token usage. */
export const TOKEN_BUCKETS: readonly number[] = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/**
 * Which version of the GenAI conventions to emit: the latest (v1.41) by default. The spec's
 * rule to keep emitting v1.36 unless `OTEL_SEMCONV_STABILITY_OPT_IN` lists
 * `gen_ai_latest_experimental` is for instrumentations that already emitted v1.36; modelgate
 * never did, so it has no dashboards to break and starts on the latest names. Config
 * `telemetry.semconv: "v1.36"` asks for the old names, for dashboards built on them; the env
 * opt-in still wins over it, as the spec defines it. What the mode changes: the provider
 * attribute (`gen_ai.provider.name`, or `gen_ai.system` under v1.36, on spans and metrics)
 * and where captured content goes (span attributes `gen_ai.input.messages` /
 * `gen_ai.output.messages`, or span events `gen_ai.content.prompt` /
 * `gen_ai.content.completion` under v1.36). Attributes v1.36 did not define at all (cache and
 * reasoning token counts, `gen_ai.request.stream`, time to first chunk) are emitted in both
 * modes: adding a name breaks no dashboard.
 */
export interface SemconvMode {
  readonly latest: boolean;
  /** The attribute carrying the provider name. */
  readonly providerAttribute: typeof GEN_AI_PROVIDER_NAME | typeof GEN_AI_SYSTEM;
}

/** The conventions `telemetry.semconv` can ask for. */
export type SemconvPreference = "latest" | "v1.36";

/**
 * Resolves the mode once per gateway from the opt-in list (comma-separated, as the spec
 * defines it) and the configured preference: latest, unless the config asks for "v1.36" and
 * the env does not opt in to `gen_ai_latest_experimental`.
 */
export function semconvMode(optIn: string | undefined, preference: SemconvPreference = "latest"): SemconvMode {
  const optedIn = (optIn ?? "").split(",").some((value) => value.trim() === "gen_ai_latest_experimental");
  const latest = optedIn || preference !== "v1.36";
  return { latest, providerAttribute: latest ? GEN_AI_PROVIDER_NAME : GEN_AI_SYSTEM };
}

/** Attribute names of modelgate's own, under the `modelgate.` namespace. */
export const MODELGATE_ROUTE = "modelgate.route";
export const MODELGATE_DEPLOYMENT = "modelgate.deployment";
export const MODELGATE_CACHE = "modelgate.cache";
export const MODELGATE_COST_USD = "modelgate.cost_usd";
/** The cost is an estimate: the provider sent no usable usage, or the model has no known price. */
export const MODELGATE_COST_ESTIMATED = "modelgate.cost_estimated";
export const MODELGATE_KEY = "modelgate.key";
export const MODELGATE_USER = "modelgate.user";
export const MODELGATE_ATTEMPTS = "modelgate.attempts";
export const MODELGATE_ATTEMPT = "modelgate.attempt";
export const MODELGATE_FALLBACK = "modelgate.fallback";
export const MODELGATE_OUTCOME = "modelgate.outcome";
export const MODELGATE_SKIPPED = "modelgate.skipped";
export const MODELGATE_ABANDONED = "modelgate.abandoned";
export const MODELGATE_LIMIT_SCOPE = "modelgate.limit.scope";
export const MODELGATE_LIMIT_KIND = "modelgate.limit.kind";
export const MODELGATE_COOLDOWN_REASON = "modelgate.cooldown.reason";
export const MODELGATE_COOLDOWN_DURATION_MS = "modelgate.cooldown.duration_ms";
export const MODELGATE_RETRY_DELAY_MS = "modelgate.retry.delay_ms";
export const MODELGATE_FALLBACK_FROM = "modelgate.fallback.from";
export const MODELGATE_FALLBACK_TO = "modelgate.fallback.to";
export const MODELGATE_LIMIT_WAIT_MS = "modelgate.limit.wait_ms";
export const MODELGATE_RETRY_AFTER_MS = "modelgate.retry_after_ms";
export const MODELGATE_SAVED_USD = "modelgate.saved_usd";
export const MODELGATE_BUDGET_LIMIT_USD = "modelgate.budget.limit_usd";
export const MODELGATE_BUDGET_SPENT_USD = "modelgate.budget.spent_usd";

export const METRIC_REQUESTS = "modelgate.requests";
export const METRIC_CACHE_HITS = "modelgate.cache.hits";
export const METRIC_COST = "modelgate.cost";
export const METRIC_RATE_LIMIT_REJECTIONS = "modelgate.rate_limit.rejections";
export const METRIC_COOLDOWNS = "modelgate.cooldowns";

/** Span event names on the call span. */
export const EVENT_RETRY = "modelgate.retry";
export const EVENT_FALLBACK = "modelgate.fallback";
export const EVENT_COOLDOWN = "modelgate.cooldown";
export const EVENT_CACHE_HIT = "modelgate.cache_hit";
export const EVENT_THROTTLE = "modelgate.throttle";
export const EVENT_LIMIT_SKIP = "modelgate.limit.skip";
export const EVENT_RATE_LIMIT_REJECT = "modelgate.rate_limit.reject";
export const EVENT_BUDGET_REJECT = "modelgate.budget.reject";
