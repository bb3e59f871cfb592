import type { z } from "zod";
import type { ChatRequest } from "../core/chat-request.js";
import {
  embeddingAsChat,
  embeddingInputListSchema,
  embeddingRequestSchema,
  toEmbeddingResponse,
  type EmbeddingCall,
  type EmbeddingRequest,
  type EmbeddingResponse,
} from "../core/embedding-request.js";
import { chatRequestSchema, withoutNullDefaults, type ChatRequestInput } from "../core/chat-request.js";
import { readCommonRequest } from "../core/common-request.js";
import { chatOptionsSchema } from "../core/chat-options.js";
import type { GatewayChatResponse, GatewayInfo } from "../core/chat-response.js";
import { toIssues } from "../core/config-issues.js";
import { echo, echoList } from "../core/echo.js";
import { AbortError, ConfigError, GatewayClosedError, GatewayError, InvalidRequestError, type Issue } from "../core/errors.js";
import type { GatewayEventListener, GatewayEventName } from "../core/events.js";
import { declaredDeployments, type ModelFactsLookup, type RouteTable } from "../core/route.js";
import { catalogProvidersOf, createPriceBook, guessedPlacements, type PriceBook } from "../core/model-catalog.js";
import { whenSettled, settlementAccumulatorOf } from "../core/settle.js";
import type { CallContext, ChatOptions } from "../core/call-context.js";
import { checkKeyModels } from "../config/check-key-models.js";
import { checkBudgetPrices } from "../config/check-budget-prices.js";
import { checkConfigShape } from "../config/check-config-shape.js";
import { buildRouteTable } from "../config/resolve-routes.js";
import { gatewayConfigSchema, type GatewayConfigInput } from "../config/schema.js";
import type { DeploymentHealth } from "../routing/health.js";
import type { SpendReporter } from "../spend/spend-ledger.js";
import type { AlertsReader, BudgetsReader } from "../alerts/alerts.js";
import { buildPipeline, type GatewayStats } from "./build-pipeline.js";
import { ChatStream } from "./chat-stream.js";
import { gatewayKeys, type GatewayKeys } from "./gateway-keys.js";
import { DEFAULTS } from "../config/defaults.js";

export type { GatewayStats } from "./build-pipeline.js";
export type { GatewayKeys } from "./gateway-keys.js";

type GatewaySettings = ReturnType<typeof gatewayConfigSchema.parse>;

/** The config `createGateway` takes; see the README's config reference. */
export type GatewayConfig = GatewayConfigInput;

/**
 * A request body: the OpenAI chat-completions request, `null` accepted on the fields OpenAI's
 * API types as nullable (it means the default, as if the field were left out).
 */
export type ChatBody = ChatRequestInput;

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

/**
 * Builds a gateway from a config, validated at once: a bad config throws `ConfigError`
 * listing every bad path.
 *
 * @example
 * const gateway = createGateway({ providers: { openai: openai() }, models: { fast: "openai/gpt-4o-mini" } });
 * const res = await gateway.chat({ model: "fast", messages: [{ role: "user", content: "Hi" }] });
 */
export function createGateway(config: GatewayConfig): Gateway {
  const settings = parseConfig(config);
  const issues: Issue[] = [];
  const prices = createPriceBook(settings.prices, catalogProvidersOf(settings.providers), guessedPlacements(settings.providers));
  const table: RouteTable = buildRouteTable(settings.providers, settings.models ?? {}, factsFrom(prices), issues, (provider, model) =>
    prices.knows(model, provider),
  );
  checkKeyModels(settings.keys, table, issues);
  const budgetsConfigured =
    settings.users?.budget !== undefined || Object.values(settings.keys ?? {}).some((key) => key.budget !== undefined);
  checkBudgetPrices(budgetsConfigured, table, issues);
  if (settings.controlPlane && !settings.spend?.store && settings.spend?.maxRecords !== undefined) {
    issues.push({ path: "spend.maxRecords", message: "sizes the default memory store only; with a controlPlane, records go to its ledger" });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const controlPlane = settings.controlPlane;
  const staticKeys = settings.keys;
  const keysWaitMs = settings.controlPlaneTimeoutMs ?? DEFAULTS.controlPlaneTimeoutMs;
  const createdAt = Date.now();
  let keysLoaded = false;
  controlPlane?.ready().then(
    () => {
      keysLoaded = true;
    },
    () => undefined,
  );
  /** Until the control plane loaded its keys, bounded by `controlPlaneTimeoutMs` from creation. */
  const waitForKeys = async (): Promise<void> => {
    const waitMs = createdAt + keysWaitMs - Date.now();
    if (controlPlane && !keysLoaded && waitMs > 0) await controlPlane.ready({ timeoutMs: waitMs }).catch(() => undefined);
  };

  const built = buildPipeline(settings, table);
  const { run: pipeline, health, deadlineMs, closeSignal, countPrompt } = built;

  function gatewayInfo(ctx: CallContext): GatewayInfo {
    const served = ctx.served;
    return {
      provider: served?.deployment.provider ?? "",
      deployment: served?.deployment.id ?? "",
      model: served?.deployment.model ?? "",
      route: served?.route.name ?? ctx.route.name,
      attempts: ctx.attempts,
      cache: ctx.cache,
      costUsd: ctx.costUsd,
      savedUsd: ctx.savedUsd,
      latencyMs: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
      ...(ctx.cascade ? { cascade: ctx.cascade } : {}),
    };
  }

  /** Calls that carry a caller's signal, so `close()` reaches them without a listener each. */
  const linkedCalls = new Set<AbortController>();

  /**
   * Runs one call through the pipeline: checks its key, links the caller's signal, builds its
   * context. `unlink` detaches the caller's signal; the caller runs it once the call is over.
   */
  async function runCall(
    request: ChatRequest,
    callOptions: ChatOptions,
    startedAt: number,
    embedding?: EmbeddingCall,
  ): Promise<{ ctx: CallContext; unlink: (() => void) | undefined }> {
    const route = table.resolve(request.model);
    if (!route) throw unknownModel(request.model, table, Object.keys(settings.providers));
    if (embedding && route.accept) {
      throw new InvalidRequestError(
        [{ path: "model", message: `'${echo(request.model)}' is a cascade route, which judges generated text: name an embedding model's route` }],
        "Invalid embeddings request:",
      );
    }
    // Before anything records the key (spans, events): an unknown one may be a pasted secret.
    const key = callOptions.key;
    if (key !== undefined && (staticKeys || controlPlane) && !(staticKeys && Object.hasOwn(staticKeys, key))) {
      if (!controlPlane) throw unknownKey();
      if (!controlPlane.keys.get(key)) {
        // The first calls wait (bounded) for the runtime keys to be loaded; a revoked key is gone.
        await waitForKeys();
        if (!controlPlane.keys.get(key)) throw unknownKey();
      }
    }

    // Not AbortSignal.any: on Node 20 each one stays attached to the long-lived close signal
    // (nodejs/node#55351), a leak per call. One controller per call that has a signal instead.
    let signal = closeSignal;
    let unlink: (() => void) | undefined;
    const callerSignal = callOptions.signal;
    if (callerSignal) {
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(callerSignal.reason instanceof GatewayError ? callerSignal.reason : new AbortError());
      if (callerSignal.aborted) onAbort();
      else callerSignal.addEventListener("abort", onAbort, { once: true });
      linkedCalls.add(controller);
      unlink = () => {
        callerSignal.removeEventListener("abort", onAbort);
        linkedCalls.delete(controller);
      };
      signal = controller.signal;
    }
    const ctx: CallContext = {
      request,
      options: callOptions,
      route,
      stream: request.stream === true,
      signal,
      startedAt,
      deadline: startedAt + (callOptions.deadlineMs ?? deadlineMs),
      attempts: [],
      cache: "miss",
      costUsd: 0,
      savedUsd: 0,
      countPrompt,
      ...(embedding ? { embedding } : {}),
    };
    try {
      await pipeline(ctx);
    } catch (error) {
      unlink?.();
      throw error;
    }
    return { ctx, unlink };
  }

  async function chat(body: ChatBody, options?: ChatOptions): Promise<GatewayChatResponse | ChatStream> {
    if (closeSignal.aborted) throw new GatewayClosedError();
    const startedAt = performance.now();
    const request = parseRequest(body);
    const callOptions = options === undefined ? NO_OPTIONS : parseOptions(options);
    const { ctx, unlink } = await runCall(request, callOptions, startedAt);
    if (ctx.chunks) {
      if (unlink) whenSettled(ctx, unlink);
      const chunks = ctx.chunks!;
      // The call's settlement tap already assembles every chunk the stream hands out: reuse it.
      const stream = new ChatStream(chunks[Symbol.asyncIterator](), () => gatewayInfo(ctx), settlementAccumulatorOf(chunks));
      ctx.abandonStream = (reason) => void stream.abort(reason);
      return stream;
    }
    unlink?.();
    if (!ctx.response) throw new Error("modelgate: the pipeline finished without a response (a middleware bug)");
    // Copied, not `{ ...response, gateway }`: V8 builds a spread-then-extended object on a slow
    // path (measured 2.8-3.5 µs a call against 0.46 µs). Same keys, same order.
    const answer = Object.assign({}, ctx.response) as GatewayChatResponse;
    answer.gateway = gatewayInfo(ctx);
    return answer;
  }

  async function embed(body: EmbeddingBody, options?: ChatOptions): Promise<GatewayEmbeddingResponse> {
    if (closeSignal.aborted) throw new GatewayClosedError();
    const startedAt = performance.now();
    const call = parseEmbeddingRequest(body);
    const callOptions = options === undefined ? NO_OPTIONS : parseOptions(options);
    const { ctx, unlink } = await runCall(embeddingAsChat(call), callOptions, startedAt, call);
    unlink?.();
    if (!ctx.embeddings) throw new Error("modelgate: the pipeline finished without embeddings (a middleware bug)");
    return { ...toEmbeddingResponse(ctx.embeddings, call.request.encoding_format), gateway: gatewayInfo(ctx) };
  }

  return {
    chat: chat as Gateway["chat"],
    embed,
    health: () => health.report(declaredDeployments(table)),
    spend: built.spend,
    budgets: built.budgets,
    alerts: built.alerts,
    stats: () => built.stats(),
    keys: gatewayKeys(controlPlane, staticKeys ?? {}, table, waitForKeys),
    on: (name, listener) => built.events.on(name, listener),
    off: (name, listener) => built.events.off(name, listener),
    async close() {
      if (closeSignal.aborted) return;
      const closed = new GatewayClosedError();
      built.abort(closed);
      for (const controller of linkedCalls) controller.abort(closed);
      await built.close();
    },
  };
}

/** The body of `gateway.embed()`: OpenAI's embeddings request, text input. */
export type EmbeddingBody = EmbeddingRequest;

/** What `gateway.embed()` resolves to: OpenAI's embeddings response, and what the gateway did. */
export interface GatewayEmbeddingResponse extends EmbeddingResponse {
  gateway: GatewayInfo;
}

/** A call without options: parsed once, shared by every such call. */
const NO_OPTIONS: ChatOptions = Object.freeze({});

function unknownKey(): InvalidRequestError {
  return new InvalidRequestError(
    [{ path: "options.key", message: "is not a configured key nor an active runtime key (see `keys` in the gateway config, and gateway.keys)" }],
    "Invalid chat options:",
  );
}

function parseConfig(config: unknown): GatewaySettings {
  let shapeIssues: Issue[];
  let parsed: ReturnType<typeof gatewayConfigSchema.safeParse>;
  try {
    shapeIssues = checkConfigShape(config);
    parsed = gatewayConfigSchema.safeParse(config);
  } catch (error) {
    throw new ConfigError([{ path: "", message: unreadable(error) }]);
  }
  const issues = parsed.success ? shapeIssues : [...shapeIssues, ...toIssues(parsed.error)];
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  return parsed.data;
}

function parseRequest(body: unknown): ChatRequest {
  let parsed: ReturnType<typeof chatRequestSchema.safeParse>;
  let protoIssues: Issue[];
  try {
    // The common request (text messages, scalar fields) is checked by hand; the rest, and
    // every error, by the schema.
    const common = readCommonRequest(body);
    if (common) return common;
    protoIssues = protoKeyIssues(body);
    parsed = chatRequestSchema.safeParse(withoutNullDefaults(body));
  } catch (error) {
    throw new InvalidRequestError([{ path: "", message: unreadable(error) }]);
  }
  if (!parsed.success) throw new InvalidRequestError([...protoIssues, ...toIssues(parsed.error)]);
  if (protoIssues.length > 0) throw new InvalidRequestError(protoIssues);
  return parsed.data;
}

/** The body's maps of caller-chosen names: a `__proto__` one would vanish when parsed. */
const NAME_MAPS = ["metadata", "logit_bias", "extra_body"] as const;

function protoKeyIssues(body: unknown): Issue[] {
  if (typeof body !== "object" || body === null) return [];
  const issues: Issue[] = [];
  for (const field of NAME_MAPS) {
    const map: unknown = (body as Record<string, unknown>)[field];
    if (typeof map !== "object" || map === null || !Object.hasOwn(map, "__proto__")) continue;
    issues.push({ path: `${field}.__proto__`, message: "'__proto__' cannot be a name: JavaScript objects drop it" });
  }
  return issues;
}

function parseEmbeddingRequest(body: unknown): EmbeddingCall {
  let parsed: ReturnType<typeof embeddingRequestSchema.safeParse>;
  try {
    parsed = embeddingRequestSchema.safeParse(body);
  } catch (error) {
    throw new InvalidRequestError([{ path: "", message: unreadable(error) }], "Invalid embeddings request:");
  }
  if (!parsed.success) throw new InvalidRequestError(embeddingIssues(parsed.error, body), "Invalid embeddings request:");
  const request = parsed.data;
  return { request, inputs: typeof request.input === "string" ? [request.input] : request.input };
}

/**
 * zod's issues, with `input` judged by what it is: token arrays (`number[]`, `number[][]`) named
 * as such, and a list reported against the list's own rules, not as "expected string" from the union.
 */
function embeddingIssues(error: z.ZodError, body: unknown): Issue[] {
  const input: unknown = typeof body === "object" && body !== null ? (body as { input?: unknown }).input : undefined;
  if (!Array.isArray(input)) return toIssues(error);
  const others = toIssues(error).filter((issue) => issue.path !== "input" && !issue.path.startsWith("input["));
  if (input.length > 0 && (typeof input[0] === "number" || Array.isArray(input[0]))) {
    return [{ path: "input", message: "token arrays are not accepted (they are one tokenizer's ids): send text, a string or a list of strings" }, ...others];
  }
  const list = embeddingInputListSchema.safeParse(input);
  return list.success ? others : [...toIssues(list.error, ["input"]), ...others];
}

function parseOptions(options: unknown): ChatOptions {
  let parsed: ReturnType<typeof chatOptionsSchema.safeParse>;
  try {
    parsed = chatOptionsSchema.safeParse(options);
  } catch (error) {
    throw new InvalidRequestError([{ path: "options", message: unreadable(error) }], "Invalid chat options:");
  }
  if (!parsed.success) throw new InvalidRequestError(toIssues(parsed.error, ["options"]), "Invalid chat options:");
  return parsed.data;
}

/** A getter (or proxy) that threw while the input was read: say so, never rethrow it raw. */
function unreadable(error: unknown): string {
  let detail: string;
  try {
    detail = error instanceof Error ? String(error.message) : String(error);
  } catch {
    detail = "an unprintable value";
  }
  return `could not be read: a property threw while it was read (${echo(detail)})`;
}

/** Providers are few; the cap keeps the message short however many are configured. */
const MAX_CHOICES_SHOWN = 8;

function unknownModel(model: string, table: RouteTable, providers: string[]): InvalidRequestError {
  const choices = table.servedBy?.(model) ?? [];
  if (choices.length > 1) {
    return new InvalidRequestError([
      {
        path: "model",
        message: `'${echo(model)}' is served by more than one configured provider: name one (${choices
          .slice(0, MAX_CHOICES_SHOWN)
          .map((choice) => `'${echo(choice)}'`)
          .join(" or ")}) or declare it in models`,
      },
    ]);
  }
  const declared = [...table.routes.keys()];
  return new InvalidRequestError([
    {
      path: "model",
      message: `'${echo(model)}' is not a declared model (have: ${echoList(declared) || "none"}), a model a configured provider's catalog lists, nor 'provider/model' with a configured provider (have: ${echoList(providers)})`,
    },
  ]);
}

/** Catalog facts with the config's `prices` on top, for the route table. */
function factsFrom(prices: PriceBook): ModelFactsLookup {
  return (provider, model) => prices.factsOf(model, provider);
}
