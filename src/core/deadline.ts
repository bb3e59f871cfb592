import { TimeoutError } from "./errors.js";
import type { CallContext } from "./call-context.js";

/** The error for a call whose deadline (over every retry and fallback) has passed. */
export function deadlineExceeded(ctx: CallContext): TimeoutError {
  return new TimeoutError(Math.round(ctx.deadline - ctx.startedAt), "Call deadline");
}
