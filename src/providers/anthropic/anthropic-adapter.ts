import type Anthropic from "@anthropic-ai/sdk";
import { fanOutChat, refuseStreamedFanOut } from "../../providers/shared/fan-out.js";
import type { ChatChunk } from "../../core/chat-chunk.js";
import type { ChatRequest } from "../../core/chat-request.js";
import type { ChatResponse } from "../../core/chat-response.js";
import type { GatewayError } from "../../core/errors.js";
import type { AdapterContext, AdapterOptions, ProviderAdapter } from "../../core/provider-adapter.js";
import { credentialHeaderValues } from "../../core/scrub-secrets.js";
import { missingApiKey, readApiKey } from "../../providers/shared/api-key.js";
import { sdkFetch } from "../../providers/shared/fetch-transport.js";
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
  return new AnthropicAdapter(options);
}

/** The Anthropic adapter; `anthropic()` builds it. */
export class AnthropicAdapter implements ProviderAdapter {
  readonly name: string;
  readonly serverAddress: string | undefined;
  /** Made on first use (`resolveClient`), so the key may be set after the gateway is built. */
  private client: Anthropic | undefined;

  constructor(private readonly options: AnthropicOptions = {}) {
    this.name = options.name ?? "anthropic";
    this.client = options.client;
    // Fails here, with a ConfigError naming the package, when the optional peer is missing.
    if (!options.client) loadPeer<unknown>("@anthropic-ai/sdk", "modelgate/anthropic");
    // Where the SDK itself would send calls: the client's URL, else the option, its variable, the default.
    this.serverAddress = hostOf(options.client?.baseURL || options.baseURL || process.env.ANTHROPIC_BASE_URL || DEFAULT_BASE_URL);
  }

  async chat(request: ChatRequest, ctx: AdapterContext): Promise<ChatResponse> {
    if ((request.n ?? 1) > 1) return fanOutChat(request, ctx, (one, oneCtx) => this.chat(one, oneCtx));
    const { params, jsonToolName } = toAnthropicRequest(request, ctx.model);
    let message: unknown;
    try {
      message = await this.resolveClient().messages.create({ ...params, stream: false }, this.requestOptions(ctx));
    } catch (error) {
      throw this.toError(error, ctx.signal);
    }
    return fromAnthropicResponse(message, { provider: this.name, model: ctx.model, jsonToolName, created: nowSeconds() });
  }

  async *stream(request: ChatRequest, ctx: AdapterContext): AsyncGenerator<ChatChunk> {
    refuseStreamedFanOut(request, this.name);
    const { params, jsonToolName } = toAnthropicRequest(request, ctx.model);
    try {
      const events = await this.resolveClient().messages.create({ ...params, stream: true }, this.requestOptions(ctx));
      // Leaving this loop early (consumer `return()`, or a throw) runs the SDK stream's
      // `finally`, which aborts the HTTP request.
      yield* toChatChunks(events, { provider: this.name, model: ctx.model, jsonToolName, created: nowSeconds() });
    } catch (error) {
      // The SDK ends a stream quietly when its signal aborts; toError turns that into the abort reason.
      throw this.toError(error, ctx.signal);
    }
  }

  /** Per call, so a client the user built with retries still does not retry under the gateway. */
  private requestOptions(ctx: AdapterContext): { signal: AbortSignal; maxRetries: number; timeout: number } {
    return {
      signal: ctx.signal,
      maxRetries: 0,
      timeout: ctx.timeoutMs > 0 ? Math.min(ctx.timeoutMs, MAX_TIMER_MS) : MAX_TIMER_MS,
    };
  }

  /** The client given, else one made now, with the key read now (a missing one fails this call). */
  private resolveClient(): Anthropic {
    this.client ??= this.createClient(this.requireApiKey());
    return this.client;
  }

  private createClient(apiKey: string): Anthropic {
    const { Anthropic: Client } = loadPeer<typeof import("@anthropic-ai/sdk")>("@anthropic-ai/sdk", "modelgate/anthropic");
    return new Client({
      apiKey,
      maxRetries: 0,
      // The gateway's attempt span is the one CLIENT span per provider call; the SDK's own
      // would duplicate it (trace context still propagates).
      openTelemetry: false,
      fetch: sdkFetch(this.options),
      ...(this.options.baseURL !== undefined ? { baseURL: this.options.baseURL } : {}),
      ...(this.options.headers !== undefined ? { defaultHeaders: this.options.headers } : {}),
    });
  }

  /** Read on first use, never at construction: the variable may be set after the gateway is built. */
  private requireApiKey(): string {
    const apiKey = readApiKey(this.options.apiKey, [API_KEY_VARIABLE]);
    if (!apiKey) throw missingApiKey(this.name, this.name === "anthropic" ? "Anthropic" : this.name, "anthropic", [API_KEY_VARIABLE]);
    return apiKey;
  }

  private toError(error: unknown, signal: AbortSignal): GatewayError {
    return fromAnthropicError(error, { provider: this.name, signal, secrets: this.secrets() });
  }

  /** What a server might echo back that must not reach a message: the key and credential headers. */
  private secrets(): (string | null | undefined)[] {
    return [
      this.client?.apiKey,
      this.options.apiKey,
      this.options.client?.authToken,
      ...credentialHeaderValues(this.options.headers),
    ];
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
