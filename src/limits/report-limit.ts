import type { GatewayEvents, LimitEvent } from "../core/events.js";
import { report } from "../core/report.js";
import type { CallContext } from "../core/call-context.js";
import { withIdentity } from "../core/identity.js";

/** What a limit did to a call, without who the call was for. */
export type LimitOutcome = Pick<LimitEvent, "scope" | "kind" | "action" | "waitMs" | "deployment">;

/** Emits the `limit` event and marks the call's trace; builds nothing when nobody listens. */
export function reportLimit(events: GatewayEvents, ctx: CallContext, outcome: LimitOutcome): void {
  report(events, ctx, "limit", (): LimitEvent => withIdentity(ctx, outcome));
}
