import type { CallIdentity } from "./events.js";
import type { CallContext } from "./call-context.js";

/** Who a call is for, as every event reports it. */
export function identityOf(ctx: CallContext): CallIdentity {
  return {
    model: ctx.request.model,
    key: ctx.options.key,
    user: ctx.options.user,
    tags: ctx.options.tags ?? [],
    stream: ctx.stream,
  };
}
