import type { CallContext, CallTraceEventName } from "./call-context.js";
import type { GatewayEventMap, GatewayEventName, GatewayEvents } from "./events.js";

/** The events that also mark the call's trace (`CallTrace`); the others are for listeners only. */
const TRACED: ReadonlySet<GatewayEventName> = new Set<CallTraceEventName>(["retry", "fallback", "cooldown", "limit", "cache"]);

function isTraced(name: GatewayEventName): name is CallTraceEventName {
  return TRACED.has(name);
}

/**
 * The one way a middleware reports a moment of a call: to the public event's listeners and, for
 * the moments a trace records (`CallTraceEventName`), onto the call's trace, with the same
 * payload. `build` runs only when someone will read it (a listener, or a trace that records the
 * name), so an unobserved gateway builds nothing.
 *
 * @example
 * report(events, ctx, "fallback", () => withIdentity(ctx, { from, to }));
 */
export function report<Name extends GatewayEventName>(
  events: GatewayEvents,
  ctx: CallContext,
  name: Name,
  build: () => GatewayEventMap[Name],
): void {
  const listening = events.has(name);
  const trace = isTraced(name) ? ctx.trace : undefined;
  if (!listening && !trace) return;
  const payload = build();
  if (listening) events.emit(name, payload);
  trace?.event(name as CallTraceEventName, payload as GatewayEventMap[CallTraceEventName]);
}

/**
 * `report` for what happens outside any call (an alert, a store's state, a dropped record):
 * to the event's listeners only, and `build` runs only when there is one.
 *
 * @example
 * announce(events, "state", () => ({ state: "down", error: describe(error) }));
 */
export function announce<Name extends GatewayEventName>(events: GatewayEvents, name: Name, build: () => GatewayEventMap[Name]): void {
  if (!events.has(name)) return;
  events.emit(name, build());
}
