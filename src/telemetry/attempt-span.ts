import { SpanKind, type Attributes, type Context, type Span } from "@opentelemetry/api";
import { contextWith } from "./context-with.js";
import type { ChatResponse } from "../core/chat-response.js";
import type { AttemptContext } from "../core/attempt-context.js";
import { errorType, responseAttributes, usageAttributes } from "./attributes.js";
import { legacyCompletionJson, outputMessagesJson } from "./content.js";
import { EMBEDDINGS_OPERATION, OPERATION, type DeploymentTelemetry, type GatewayTelemetry } from "./gateway-telemetry.js";
import { recordError } from "./record-error.js";
import {
  ERROR_TYPE,
  GEN_AI_COMPLETION,
  GEN_AI_CONTENT_COMPLETION_EVENT,
  GEN_AI_OUTPUT_MESSAGES,
  GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  MODELGATE_ABANDONED,
  MODELGATE_ATTEMPT,
  MODELGATE_ROUTE,
  MODELGATE_SKIPPED,
} from "./semconv.js";

/**
 * The CLIENT span of one provider attempt, child of the call span, and the `gen_ai.client.*`
 * measurements of that attempt. A plain attempt ends when the adapter answers; a streamed one
 * stays open until its stream is over (the call recorder ends it then).
 */
/** What an attempt span needs of its call's span (the `CallRecorder`), named here to keep imports one-way. */
export interface AttemptParent {
  /** The call's context, with the call span active. */
  readonly context: Context;
  requestAttributes(): Attributes;
  recordInputContent(span: Span): void;
}

export class AttemptSpan {
  readonly span: Span;
  /** The call's context with this span active: what runs inside the attempt nests under it. */
  readonly context: Context;
  private readonly recording: boolean;
  private readonly facts: DeploymentTelemetry;
  private readonly startedAt = performance.now();
  private ended = false;

  constructor(
    private readonly telemetry: GatewayTelemetry,
    private readonly call: AttemptParent,
    attempt: AttemptContext,
  ) {
    this.facts = telemetry.deployment(attempt.deployment, attempt.call.embedding ? EMBEDDINGS_OPERATION : OPERATION);
    this.span = telemetry.tracer.startSpan(
      this.facts.spanName,
      { kind: SpanKind.CLIENT, attributes: this.facts.spanAttributes },
      call.context,
    );
    this.context = contextWith(call.context, this.span);
    this.recording = this.span.isRecording();
    if (this.recording) {
      this.span.setAttribute(MODELGATE_ROUTE, attempt.route.name);
      this.span.setAttribute(MODELGATE_ATTEMPT, attempt.attempt);
      this.span.setAttributes(call.requestAttributes());
      call.recordInputContent(this.span);
    }
  }

  /** The first chunk of a stream arrived: the attempt is now streaming. */
  firstChunk(): void {
    const seconds = (performance.now() - this.startedAt) / 1000;
    if (this.recording) this.span.setAttribute(GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, seconds);
    this.telemetry.metrics.firstChunk(seconds, this.facts.metricAttributes);
  }

  /** The attempt served the call (for a stream: the stream is over, possibly abandoned early). */
  succeed(response: ChatResponse | undefined, abandoned = false): void {
    if (this.ended) return;
    this.ended = true;
    const seconds = (performance.now() - this.startedAt) / 1000;
    if (response) {
      const served = this.telemetry.servedAttributes(this.facts, response.model);
      this.telemetry.metrics.operation(seconds, served.operation);
      if (response.usage) this.telemetry.metrics.tokens(response.usage, served.inputTokens, served.outputTokens);
    } else {
      this.telemetry.metrics.operation(seconds, this.facts.metricAttributes);
    }
    if (this.recording) {
      if (abandoned) this.span.setAttribute(MODELGATE_ABANDONED, true);
      if (response) {
        this.span.setAttributes(responseAttributes(response));
        if (response.usage) this.span.setAttributes(usageAttributes(response.usage));
        if (this.telemetry.captureContent) this.recordOutputContent(response);
      }
    }
    this.span.end();
  }

  /** The attempt failed; the call may still recover through a retry or a fallback. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    const type = errorType(error);
    const seconds = (performance.now() - this.startedAt) / 1000;
    this.telemetry.metrics.operation(seconds, { ...this.facts.metricAttributes, [ERROR_TYPE]: type });
    if (this.recording) recordError(this.span, error, type);
    this.span.end();
  }

  /** A deployment out of capacity was skipped before any request went out: no operation to measure. */
  markSkipped(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.recording) this.span.setAttribute(MODELGATE_SKIPPED, reason);
    this.span.end();
  }

  private recordOutputContent(response: ChatResponse): void {
    if (this.telemetry.mode.latest) {
      this.span.setAttribute(GEN_AI_OUTPUT_MESSAGES, outputMessagesJson(response));
    } else {
      this.span.addEvent(GEN_AI_CONTENT_COMPLETION_EVENT, { [GEN_AI_COMPLETION]: legacyCompletionJson(response) });
    }
  }
}
