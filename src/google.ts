/**
 * `modelgate/google`: the Google adapter (Gemini API or Vertex AI). Needs the optional peer
 * `@google/genai` (or the end-of-life `@google/generative-ai`, used when it is the one installed).
 *
 * @example
 * import { createGateway } from "modelgate";
 * import { google } from "modelgate/google";
 * const gateway = createGateway({ providers: { google: google() } });
 * await gateway.chat({ model: "google/gemini-2.5-flash", messages: [{ role: "user", content: "Hi" }] });
 */
export { google } from "./providers/google/google-adapter.js";
export type { GoogleOptions, GoogleSdk } from "./providers/google/google-adapter.js";
