import type { ChatRequest } from "../core/chat-request.js";
import { chatRequestSchema } from "../core/chat-request.js";
import { chatOptionsSchema } from "../core/chat-options.js";
import type { GatewayChatResponse, GatewayInfo } from "../core/chat-response.js";
import { toIssues } from "../core/config-issues.js";
import { AbortError, ConfigError, GatewayClosedError, GatewayError, InvalidRequestError, type Issue } from "../core/errors.js";
import type { GatewayEventListener, GatewayEventName } from "../core/events.js";
import { declaredDeployments, type ModelFactsLookup, type RouteTable } from "../core/route.js";
import { createPriceBook, type PriceBook } from "../core/model-catalog.js";
import { whenSettled, settlementAccumulatorOf } from "../core/settle.js";
import type { CallContext, ChatOptions } from "../core/call-context.js";
import { checkKeyModels } from "../config/check-key-models.js";
import { checkBudgetPrices } from "../config/check-budget-prices.js";
import { buildRouteTable } from "../config/resolve-routes.js";
import { gatewayConfigSchema, type GatewayConfigInput } from "../config/schema.js";
import type { DeploymentHealth } from "../routing/health.js";
import type { SpendReporter } from "../spend/spend-ledger.js";
import type { AlertsReader, BudgetsReader } from "../alerts/alerts.js";
import { buildPipeline, type GatewayStats } from "./build-pipeline.js";
import { ChatStream } from "./chat-stream.js";

export type { GatewayStats } from "./build-pipeline.js";

/** The config `createGateway` takes; see the README's config reference. */
export type GatewayConfig = GatewayConfigInput;

/** A request body: the OpenAI chat-completions request. */
export type ChatBody = ChatRequest;

export interface Gateway {
  /**
   * Serves an OpenAI chat-completions request through routing, retries, fallbacks, limits,
   * cache and telemetry. Resolves to a `ChatCompletion` with `.gateway`, or a `ChatStream`
   * when `stream: true`.
   */
  chat(body: ChatBody & { stream: true }, options?: ChatOptions): Promise<ChatStream>;
  chat(body: ChatBody & { stream?: false | undefined }, options?: ChatOptions): Promise<GatewayChatResponse>;
  chat(body: ChatBody, options?: ChatOptions): Promise<GatewayChatResponse | ChatStream>;
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
  const parsed = gatewayConfigSchema.safeParse(config);
  if (!parsed.success) throw new ConfigError(toIssues(parsed.error));
  const settings = parsed.data;
  const issues: Issue[] = [];
  const table: RouteTable = buildRouteTable(settings.providers, settings.models ?? {}, factsFrom(createPriceBook(settings.prices)), issues);
  checkKeyModels(settings.keys, table, issues);
  const budgetsConfigured =
    settings.users?.budget !== undefined || Object.values(settings.keys ?? {}).some((key) => key.budget !== undefined);
  checkBudgetPrices(budgetsConfigured, table, issues);
  if (issues.length > 0) throw new ConfigError(issues);

  const built = buildPipeline(settings, table);
  const { run: pipeline, health, deadlineMs, closeSignal } = built;

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
    };
  }

  /** Calls that carry a caller's signal, so `close()` reaches them without a listener each. */
  const linkedCalls = new Set<AbortController>();

  async function chat(body: ChatBody, options?: ChatOptions): Promise<GatewayChatResponse | ChatStream> {
    if (closeSignal.aborted) throw new GatewayClosedError();
    const startedAt = performance.now();
    const request = parseRequest(body);
    const callOptions = options === undefined ? NO_OPTIONS : parseOptions(options);
    const route = table.resolve(request.model);
    if (!route) throw unknownModel(request.model, table, Object.keys(settings.providers));
    // Before anything records the key (spans, events): an unknown one may be a pasted secret.
    if (settings.keys && callOptions.key !== undefined && !Object.hasOwn(settings.keys, callOptions.key)) throw unknownKey();

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
    };
    try {
      await pipeline(ctx);
    } catch (error) {
      unlink?.();
      throw error;
    }
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
    return { ...ctx.response, gateway: gatewayInfo(ctx) };
  }

  return {
    chat: chat as Gateway["chat"],
    health: () => health.report(declaredDeployments(table)),
    spend: built.spend,
    budgets: built.budgets,
    alerts: built.alerts,
    stats: () => built.stats(),
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

/** A call without options: parsed once, shared by every such call. */
const NO_OPTIONS: ChatOptions = Object.freeze({});

function unknownKey(): InvalidRequestError {
  return new InvalidRequestError(
    [{ path: "options.key", message: "is not a configured key (see `keys` in the gateway config)" }],
    "Invalid chat options:",
  );
}

function parseRequest(body: unknown): ChatRequest {
  const parsed = chatRequestSchema.safeParse(body);
  if (!parsed.success) throw new InvalidRequestError(toIssues(parsed.error));
  return parsed.data;
}

function parseOptions(options: unknown): ChatOptions {
  const parsed = chatOptionsSchema.safeParse(options);
  if (!parsed.success) throw new InvalidRequestError(toIssues(parsed.error, ["options"]), "Invalid chat options:");
  return parsed.data;
}

function unknownModel(model: string, table: RouteTable, providers: string[]): InvalidRequestError {
  const declared = [...table.routes.keys()];
  return new InvalidRequestError([
    {
      path: "model",
      message: `'${model}' is not a declared model (have: ${declared.join(", ") || "none"}) nor 'provider/model' with a configured provider (have: ${providers.join(", ")})`,
    },
  ]);
}

/** Catalog facts with the config's `prices` on top, for the route table. */
function factsFrom(prices: PriceBook): ModelFactsLookup {
  return (provider, model) => prices.factsOf(model, provider);
}
