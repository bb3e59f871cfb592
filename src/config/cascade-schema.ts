import { z } from "zod";
import type { AcceptCheck } from "../core/cascade-types.js";

/** The config fields of cascade and hedged routes, kept apart from the rest of the route schema. */

export const acceptCheck = z.custom<AcceptCheck>(
  (value) => typeof value === "function",
  "expected a function (response, request) => boolean | Promise<boolean>, e.g. validJson() from 'modelgate/checks'",
);

const budgetPercent = z.number().min(0).max(100).optional();

export const hedgeSchema = z.union([
  z.object({ afterMs: z.number().int().nonnegative(), budgetPercent }).strict(),
  z.object({ afterPercentile: z.number().gt(0).lt(100), budgetPercent }).strict(),
]);

/** `accept` is required by a cascade and means nothing elsewhere; hedging a cascade is not defined. */
export function checkCascadeRoute(
  route: { strategy?: string | undefined; accept?: unknown; hedge?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (route.strategy === "cascade" && route.accept === undefined) {
    ctx.addIssue({ code: "custom", path: ["accept"], message: "is required when strategy is 'cascade' (a function (response, request) => boolean)" });
  }
  if (route.strategy !== "cascade" && route.accept !== undefined) {
    ctx.addIssue({ code: "custom", path: ["accept"], message: "is only used with strategy: 'cascade'" });
  }
  if (route.strategy === "cascade" && route.hedge !== undefined) {
    ctx.addIssue({ code: "custom", path: ["hedge"], message: "cannot be combined with strategy: 'cascade' (tiers run in order)" });
  }
}
