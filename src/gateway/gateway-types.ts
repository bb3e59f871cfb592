import type { ChatRequestInput } from "../core/chat-request.js";
import type { EmbeddingRequest, EmbeddingResponse } from "../core/embedding-request.js";
import type { GatewayChatResponse, GatewayInfo } from "../core/chat-response.js";
import type { GatewayEventListener, GatewayEventName } from "../core/events.js";
import type { ChatOptions } from "../core/call-context.js";
import type { GatewayConfigInput } from "../config/schema.js";
import type { DeploymentHealth } from "../routing/health.js";
import type { SpendReporter } from "../spend/spend-ledger.js";
import type { AlertsReader, BudgetsReader } from "../alerts/alerts.js";
import type { GatewayStats } from "./build-pipeline.js";
import type { ChatStream } from "./chat-stream.js";
import type { GatewayKeys } from "./gateway-keys.js";

/** The config `createGateway` takes; see the README's config reference. */
export type GatewayConfig = GatewayConfigInput;

/**
 * A request body: the OpenAI chat-completions request, `null` accepted on the fields OpenAI's
 * API types as nullable (it means the default, as if the field were left out).
 */
export type ChatBody = ChatRequestInput;

/** The body of `gateway.embed()`: OpenAI's embeddings request, text input. */
export type EmbeddingBody = EmbeddingRequest;

/** What `gateway.embed()` resolves to: OpenAI's embeddings response, and what the gateway did. */
export interface GatewayEmbeddingResponse extends EmbeddingResponse {
  gateway: GatewayInfo;
}

export interface Gateway {
  /**
   * Serves an OpenAI chat-completions request through routing, retries, fallbacks, limits,
   * cache and telemetry. Resolves to a `ChatCompletion` with `.gateway`, or a `ChatStream`
   * when `stream: true`.
   */
  chat(body: ChatBody & { stream: true }, options?: ChatOptions): Promise<ChatStream>;
  chat(body: ChatBody & { stream?: false | null | undefined }, options?: ChatOptions): Promise<GatewayChatResponse>;
  chat(body: ChatBody, options?: ChatOptions): Promise<GatewayChatResponse | ChatStream>;
  /**
   * Serves an OpenAI embeddings request (`{ model, input, dimensions?, encoding_format? }`)
   * through the same routing, retries, fallbacks, limits, budgets, spend records, exact cache
   * and telemetry as `chat()`. Resolves to OpenAI's `CreateEmbeddingResponse` with `.gateway`.
   */
  embed(body: EmbeddingBody, options?: ChatOptions): Promise<GatewayEmbeddingResponse>;
  /** Health of every declared deployment: state, recent failures, latency EWMA, in flight. */
  health(): DeploymentHealth[];
  /** Subscribes to an event; returns a function that unsubscribes. */
  on<Name extends GatewayEventName>(name: Name, listener: GatewayEventListener<Name>): () => void;
  off<Name extends GatewayEventName>(name: Name, listener: GatewayEventListener<Name>): void;
  /** Aborts calls in flight, releases timers and stores. Further calls throw `GatewayClosedError`. */
  close(): Promise<void>;
  /** Who spent what: `gateway.spend.report({ by: "user", since })`, costliest first. */
  spend: SpendReporter;
  /** Each budget's state this period: `await gateway.budgets.get({ key: "team-a" })`. */
  budgets: BudgetsReader;
  /** Recent budget and anomaly alerts, newest first. */
  alerts: AlertsReader;
  /** Counters since `createGateway`, one section per configured feature. */
  stats(): GatewayStats;
  /**
   * Runtime virtual keys (`create`, `update`, `revoke`, `list`, `verify`), shared by every
   * gateway on the control plane's database. Needs `controlPlane` in the config.
   */
  keys: GatewayKeys;
}
