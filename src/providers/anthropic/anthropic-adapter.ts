import type Anthropic from "@anthropic-ai/sdk";
import { fanOutChat, refuseStreamedFanOut } from "../../providers/shared/fan-out.js";
import type { ChatChunk } from "../../core/chat-chunk.js";
import type { ChatRequest } from "../../core/chat-request.js";
import type { ChatResponse } from "../../core/chat-response.js";
import type { AdapterContext, AdapterOptions, ProviderAdapter } from "../../core/provider-adapter.js";
import { credentialHeaderValues } from "../../core/scrub-secrets.js";
import { missingApiKey, readApiKey } from "../../providers/shared/api-key.js";
import { hostOf } from "../../providers/shared/host.js";
import { loadPeer } from "../../providers/shared/load-peer.js";
import { fromAnthropicError } from "./anthropic-errors.js";
import { toChatChunks } from "./anthropic-stream.js";
import { fromAnthropicResponse } from "./from-anthropic-response.js";
import { toAnthropicRequest } from "./to-anthropic-request.js";

/**
 * Options for `anthropic()`: the options every adapter takes, with an `@anthropic-ai/sdk` client.
 *
 * @example
 * anthropic({ apiKey: process.env.ANTHROPIC_API_KEY });
 * anthropic({ baseURL: "http://127.0.0.1:8080", headers: { "anthropic-beta": "..." } });
 * anthropic({ client: new Anthropic({ apiKey, maxRetries: 0 }) });
 */
export interface AnthropicOptions extends AdapterOptions<Anthropic> {}

const DEFAULT_BASE_URL = "https://api.anthropic.com";
const API_KEY_VARIABLE = "ANTHROPIC_API_KEY";
/** Beyond this, `setTimeout` fires at once; it is also what stops the SDK refusing long unstreamed calls. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * An adapter for Anthropic's Messages API through the official `@anthropic-ai/sdk`.
 * The SDK never retries (the gateway does); the client is built once, on first use when the
 * key comes from `ANTHROPIC_API_KEY`, so a missing key fails calls, not construction.
 *
 * @example
 * const gateway = createGateway({ providers: { anthropic: anthropic() }, models: { fast: "anthropic/claude-haiku-4-5" } });
 */
export function anthropic(options: AnthropicOptions = {}): ProviderAdapter {
  const name = options.name ?? "anthropic";
  let client: Anthropic | undefined = options.client;
  /** The key in use, once known: scrubbed from error messages. */
  let apiKey: string | undefined;

  // A missing optional peer is a ConfigError naming it, here, when the adapter is built.
  const sdk = options.client ? undefined : loadPeer<typeof import("@anthropic-ai/sdk")>("@anthropic-ai/sdk", "modelgate/anthropic");

  const getClient = (): Anthropic => {
    if (client) return client;
    // Read at first use, not at construction, so the variable may be set after the gateway is built.
    apiKey = readApiKey(options.apiKey, [API_KEY_VARIABLE]);
    if (!apiKey) throw missingApiKey(name, name === "anthropic" ? "Anthropic" : name, "anthropic", [API_KEY_VARIABLE]);
    client = new sdk!.Anthropic({
      apiKey,
      maxRetries: 0,
      // The gateway's attempt span is the one CLIENT span per provider call; the SDK's own
      // would duplicate it (trace context still propagates).
      openTelemetry: false,
      ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
      ...(options.headers !== undefined ? { defaultHeaders: options.headers } : {}),
    });
    return client;
  };

  const requestOptions = (ctx: AdapterContext) => ({
    signal: ctx.signal,
    // Per call, so a client the user built with retries still does not retry under the gateway.
    maxRetries: 0,
    timeout: ctx.timeoutMs > 0 ? Math.min(ctx.timeoutMs, MAX_TIMER_MS) : MAX_TIMER_MS,
  });
  /** What a server might echo back that must not reach an error: the key and credential headers' values. */
  const secrets = (): (string | null | undefined)[] => [
    apiKey,
    options.apiKey,
    options.client?.apiKey,
    options.client?.authToken,
    ...credentialHeaderValues(options.headers),
  ];
  const errorContext = (ctx: AdapterContext) => ({ provider: name, signal: ctx.signal, secrets: secrets() });

  const adapter: ProviderAdapter = {
    name,
    serverAddress: hostOf(options.client?.baseURL || options.baseURL || process.env.ANTHROPIC_BASE_URL || DEFAULT_BASE_URL),

    async chat(request: ChatRequest, ctx: AdapterContext): Promise<ChatResponse> {
      if ((request.n ?? 1) > 1) return fanOutChat(request, ctx, (one, oneCtx) => adapter.chat(one, oneCtx));
      const { params, jsonToolName } = toAnthropicRequest(request, ctx.model);
      let message: unknown;
      try {
        message = await getClient().messages.create({ ...params, stream: false }, requestOptions(ctx));
      } catch (error) {
        throw fromAnthropicError(error, errorContext(ctx));
      }
      return fromAnthropicResponse(message, { provider: name, model: ctx.model, jsonToolName, created: nowSeconds() });
    },

    async *stream(request: ChatRequest, ctx: AdapterContext): AsyncGenerator<ChatChunk> {
      refuseStreamedFanOut(request, name);
      const { params, jsonToolName } = toAnthropicRequest(request, ctx.model);
      try {
        const events = await getClient().messages.create({ ...params, stream: true }, requestOptions(ctx));
        // Leaving this loop early (consumer `return()`, or a throw) runs the SDK stream's
        // `finally`, which aborts the HTTP request.
        yield* toChatChunks(events, { provider: name, model: ctx.model, jsonToolName, created: nowSeconds() });
      } catch (error) {
        // The SDK ends a stream quietly when its signal aborts; fromAnthropicError turns that into the abort reason.
        throw fromAnthropicError(error, errorContext(ctx));
      }
    },
  };
  return adapter;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
