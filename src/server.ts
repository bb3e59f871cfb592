export { serve } from "./server/serve.js";
export type { RunningServer } from "./server/serve.js";
export { createHandler } from "./server/create-handler.js";
export type { Handler } from "./server/create-handler.js";
export type { AuthOptions, HandlerOptions, ServeOptions, VerifyToken } from "./server/options.js";
export type { OpenAIErrorBody } from "./server/error-reply.js";
export { BUDGET_STATUS } from "./server/error-reply.js";
