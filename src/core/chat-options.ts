import { z } from "zod";

export const chatOptionsSchema = z
  .object({
    key: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    tags: z.array(z.string()).optional(),
    signal: z.instanceof(AbortSignal, { message: "expected an AbortSignal" }).optional(),
    timeoutMs: z.number().int().positive().optional(),
    deadlineMs: z.number().int().positive().optional(),
    cache: z.enum(["default", "bypass", "refresh"]).optional(),
    semanticThreshold: z.number().gt(0).lte(1, "expected a cosine similarity in (0, 1]").optional(),
  })
  .strict();
