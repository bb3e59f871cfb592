/**
 * `modelgate/google`: the Google Gemini adapter. Needs the optional peer `@google/generative-ai`.
 *
 * @example
 * import { createGateway } from "modelgate";
 * import { google } from "modelgate/google";
 * const gateway = createGateway({ providers: { google: google() } });
 * await gateway.chat({ model: "google/gemini-2.5-flash", messages: [{ role: "user", content: "Hi" }] });
 */
export { google } from "./providers/google/google-adapter.js";
export type { GoogleOptions, GoogleSdk } from "./providers/google/google-adapter.js";
