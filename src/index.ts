export { createGateway } from "./gateway/create-gateway.js";
export type { Gateway, GatewayConfig, ChatBody, EmbeddingBody, GatewayEmbeddingResponse } from "./gateway/create-gateway.js";
export { ChatStream } from "./gateway/chat-stream.js";
export type { ChatOptions, CacheMode } from "./core/call-context.js";
export type {
  ChatRequest,
  ChatRequestInput,
  ChatMessage,
  TextPart,
  ImagePart,
  ToolCall,
  FunctionToolCall,
  CustomToolCall,
  Tool,
  FunctionTool,
  CustomTool,
  ToolChoice,
  AssistantContentPart,
  RefusalPart,
  ResponseFormat,
} from "./core/chat-request.js";
export type {
  ChatResponse,
  GatewayChatResponse,
  GatewayInfo,
  AttemptRecord,
  CacheOutcome,
  Usage,
  FinishReason,
  AssistantMessage,
  ChatChoice,
  ResponseSources,
  SearchResult,
  ResponseModeration,
  ModerationOutcome,
  ModerationResult,
} from "./core/chat-response.js";
export type { ChatChunk, ChunkChoice, ChunkDelta, ToolCallDelta } from "./core/chat-chunk.js";
export type { ProviderAdapter, AdapterContext, AdapterOptions, AdapterEmbedding, EmbedContext } from "./core/provider-adapter.js";
export type { Embedding, EmbeddingResponse } from "./core/embedding-request.js";
export type { DeploymentHealth } from "./routing/health.js";
export type {
  GatewayEventMap,
  GatewayEventName,
  GatewayEventListener,
  CallIdentity,
  RequestEvent,
  ResponseEvent,
  RetryEvent,
  FallbackEvent,
  CooldownEvent,
  CacheEvent,
  LimitEvent,
  ErrorEvent,
  CascadeEvent,
  HedgeEvent,
  BudgetAlertEvent,
  AnomalyEvent,
  WebhookEvent,
  WarningEvent,
} from "./core/events.js";
export type { Deprecation } from "./core/route.js";
export type { AcceptCheck, CascadeInfo, CascadeTier, CheckContext, HedgePolicy } from "./core/cascade-types.js";
export type { AlertsReader, BudgetsReader, AlertRecord, TimedAlert, AlertStats } from "./alerts/alerts.js";
export type { BudgetState } from "./alerts/budget-alerts.js";
export type { AlertsConfig } from "./alerts/alerts-schema.js";
export {
  GatewayError,
  ConfigError,
  InvalidRequestError,
  ModelNotAllowedError,
  RateLimitError,
  BudgetExceededError,
  UnpricedModelError,
  ProviderError,
  AllDeploymentsFailedError,
  TimeoutError,
  AbortError,
  GatewayClosedError,
  StoreUnavailableError,
  isRetryableStatus,
} from "./core/errors.js";
export type { Issue, GatewayErrorCode, LimitScope, FailedAttempt, ProviderErrorFields } from "./core/errors.js";
export type { GatewayStats } from "./gateway/create-gateway.js";
export type { CacheStats, ExactCacheStats, SemanticCacheStats } from "./cache/cache-stats.js";
export type { CacheConfig, EmbedFunction } from "./cache/cache-config.js";
export type { CacheScope } from "./cache/cache-key.js";
export type { TelemetryConfig } from "./telemetry/telemetry-config.js";
export { memoryStore } from "./stores/memory-store.js";
export type { StateStore, TokenDraw, TokenResult, BudgetCounter, BudgetReservation, BudgetResult, BudgetSeed } from "./stores/store.js";
export { memorySpendStore } from "./spend/memory-spend-store.js";
export type { MemorySpendStoreOptions } from "./spend/memory-spend-store.js";
export type { SpendStore } from "./spend/spend-store.js";
export type { SpendRecord, SpendQuery, SpendReportRow, SpendDimension, SpendBucket } from "./spend/spend-record.js";
export type { SpendReporter } from "./spend/spend-ledger.js";
export type { BudgetConfig, LimitConfig, KeyConfig, OnLimit } from "./limits/limits-schema.js";
