import type { CallContext, CallTraceEventName } from "./call-context.js";
import type { GatewayEventMap, GatewayEvents } from "./events.js";

/**
 * The one way a middleware reports a moment of a call: to the public event's listeners and onto
 * the call's trace, with the same payload. `build` runs only when someone will read it (a
 * listener, or a trace), so an unobserved gateway builds nothing.
 *
 * @example
 * report(events, ctx, "fallback", () => ({ ...identityOf(ctx), from, to }));
 */
export function report<Name extends CallTraceEventName>(
  events: GatewayEvents,
  ctx: CallContext,
  name: Name,
  build: () => GatewayEventMap[Name],
): void {
  const listening = events.has(name);
  if (!listening && !ctx.trace) return;
  const payload = build();
  if (listening) events.emit(name, payload);
  ctx.trace?.event(name, payload);
}
