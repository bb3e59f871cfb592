import { ValueType, type Attributes, type Counter, type Histogram, type Meter } from "@opentelemetry/api";
import type { Usage } from "../core/chat-response.js";
import {
  DURATION_BUCKETS,
  METRIC_CACHE_HITS,
  METRIC_COOLDOWNS,
  METRIC_COST,
  METRIC_OPERATION_DURATION,
  METRIC_RATE_LIMIT_REJECTIONS,
  METRIC_REQUESTS,
  METRIC_TIME_TO_FIRST_CHUNK,
  METRIC_TOKEN_USAGE,
  TOKEN_BUCKETS,
} from "./semconv.js";

/**
 * The instruments of one gateway, created once at `createGateway`.
 *
 * The `gen_ai.client.*` instruments measure provider attempts (the CLIENT spans): each is a real
 * GenAI operation with a known provider and model, so a failed try shows up with its
 * `error.type` and a cache hit, which calls no provider, never does. The `modelgate.*`
 * instruments count whole `chat()` calls.
 */
export class GatewayMetrics {
  private readonly operationDuration: Histogram;
  private readonly tokenUsage: Histogram;
  private readonly timeToFirstChunk: Histogram;
  private readonly requests: Counter;
  private readonly cacheHits: Counter;
  private readonly cost: Counter;
  private readonly rateLimitRejections: Counter;
  private readonly cooldowns: Counter;

  constructor(meter: Meter) {
    this.operationDuration = meter.createHistogram(METRIC_OPERATION_DURATION, {
      description: "GenAI operation duration.",
      unit: "s",
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
    });
    this.tokenUsage = meter.createHistogram(METRIC_TOKEN_USAGE, {
      description: "Number of input and output tokens used.",
      unit: "{token}",
      valueType: ValueType.INT,
      advice: { explicitBucketBoundaries: [...TOKEN_BUCKETS] },
    });
    this.timeToFirstChunk = meter.createHistogram(METRIC_TIME_TO_FIRST_CHUNK, {
      description: "Time to receive the first chunk of a streamed response.",
      unit: "s",
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
    });
    this.requests = meter.createCounter(METRIC_REQUESTS, {
      description: "chat() calls by outcome.",
      unit: "{request}",
      valueType: ValueType.INT,
    });
    this.cacheHits = meter.createCounter(METRIC_CACHE_HITS, {
      description: "chat() calls answered from the gateway cache, by tier.",
      unit: "{hit}",
      valueType: ValueType.INT,
    });
    this.cost = meter.createCounter(METRIC_COST, { description: "Provider spend of served calls.", unit: "USD" });
    this.rateLimitRejections = meter.createCounter(METRIC_RATE_LIMIT_REJECTIONS, {
      description: "chat() calls rejected by a rate limit, by scope.",
      unit: "{request}",
      valueType: ValueType.INT,
    });
    this.cooldowns = meter.createCounter(METRIC_COOLDOWNS, {
      description: "Deployments put in cooldown, by deployment and reason.",
      unit: "{cooldown}",
      valueType: ValueType.INT,
    });
  }

  /** One provider attempt's duration; `attributes` carry `error.type` only when it failed. */
  operation(seconds: number, attributes: Attributes): void {
    this.operationDuration.record(seconds, attributes);
  }

  /**
   * Billable tokens of a served attempt, with attributes carrying `gen_ai.token.type`. Never
   * called without usage: the spec forbids reporting tokens the instrumentation does not know.
   */
  tokens(usage: Usage, inputAttributes: Attributes, outputAttributes: Attributes): void {
    this.tokenUsage.record(usage.prompt_tokens, inputAttributes);
    this.tokenUsage.record(usage.completion_tokens, outputAttributes);
  }

  firstChunk(seconds: number, attributes: Attributes): void {
    this.timeToFirstChunk.record(seconds, attributes);
  }

  request(attributes: Attributes): void {
    this.requests.add(1, attributes);
  }

  cacheHit(attributes: Attributes): void {
    this.cacheHits.add(1, attributes);
  }

  spend(usd: number, attributes: Attributes): void {
    if (usd > 0) this.cost.add(usd, attributes);
  }

  rateLimitRejection(attributes: Attributes): void {
    this.rateLimitRejections.add(1, attributes);
  }

  cooldown(attributes: Attributes): void {
    this.cooldowns.add(1, attributes);
  }
}
