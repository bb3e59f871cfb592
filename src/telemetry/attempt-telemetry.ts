import { context } from "@opentelemetry/api";
import type { AttemptContext } from "../core/attempt-context.js";
import type { Middleware } from "../core/compose.js";
import { DeploymentSkip } from "../core/deployment-skip.js";
import { AttemptSpan } from "./attempt-span.js";
import { CallRecorder } from "./call-recorder.js";
import type { GatewayTelemetry } from "./gateway-telemetry.js";

/**
 * The outermost attempt middleware: one CLIENT span per provider attempt, child of the call
 * span, so each retry and fallback is visible with its own error. A failure here leaves the
 * call span alone: only the call's own outcome sets that one's status.
 */
export function createAttemptTelemetry(telemetry: GatewayTelemetry): Middleware<AttemptContext> {
  return async function attemptTelemetry(attempt, next) {
    const call = attempt.call.trace;
    if (!(call instanceof CallRecorder)) return next();
    const span = new AttemptSpan(telemetry, call, attempt);
    try {
      await context.with(span.context, next);
    } catch (error) {
      if (error instanceof DeploymentSkip) span.markSkipped(error.reason);
      else span.fail(error);
      throw error;
    }
    if (attempt.chunks) {
      span.firstChunk();
      call.holdStreamingAttempt(span);
    } else {
      span.succeed(attempt.response);
    }
  };
}
