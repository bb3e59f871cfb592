import { SpanStatusCode, type Span } from "@opentelemetry/api";
import { ERROR_TYPE } from "./semconv.js";
import { redactSecrets } from "./redact-secrets.js";

/**
 * Marks a span failed as the spec's "Recording errors" asks: `error.type`, status ERROR, an
 * exception event. The message is masked for credentials and the stack left out: a trace
 * store keeps what the service's own logs would not.
 */
export function recordError(span: Span, error: unknown, type: string): void {
  const message = redactSecrets(error instanceof Error ? error.message : String(error));
  span.setAttribute(ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.recordException({ name: error instanceof Error ? error.name : type, message });
}
