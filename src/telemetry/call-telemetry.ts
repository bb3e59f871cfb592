import { context } from "@opentelemetry/api";
import type { GatewayEvents } from "../core/events.js";
import type { Middleware } from "../core/compose.js";
import type { CallContext } from "../core/call-context.js";
import { identityOf } from "../core/identity.js";
import { report } from "../core/report.js";
import { whenSettled } from "../core/settle.js";
import { CallRecorder } from "./call-recorder.js";
import type { GatewayTelemetry } from "./gateway-telemetry.js";

/**
 * The outermost call middleware: one span per `chat()` (ended when a stream ends), the
 * `modelgate.*` counts, and the `request` / `response` / `error` events. It sets `ctx.trace`
 * before anything else runs, so inner middleware can mark the call's span.
 */
export function createTelemetryMiddleware(telemetry: GatewayTelemetry, events: GatewayEvents): Middleware<CallContext> {
  return async function telemetryMiddleware(ctx, next) {
    const recorder = new CallRecorder(telemetry, events, ctx, context.active());
    ctx.trace = recorder;
    report(events, ctx, "request", () => identityOf(ctx));
    try {
      // Spans the user's own instrumentation opens below (HTTP, SDKs) nest under the call.
      await context.with(recorder.context, next);
    } catch (error) {
      recorder.fail(error);
      throw error;
    }
    recorder.answered();
    whenSettled(ctx, (settlement) => recorder.settle(settlement));
  };
}
