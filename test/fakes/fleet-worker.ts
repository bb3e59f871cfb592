/**
 * One process of a test fleet: a gateway over mock providers and `redisStore`, driven by its
 * parent over IPC (`child_process.fork` with `--import tsx`). Each message is answered once;
 * errors travel as `{ code, name, message }`.
 *
 * `hold` / `release` gate the providers: while held, a chat that reached its provider (counted
 * in `calls`) does not return until `release`. A test that stalls or kills Redis while calls are
 * held knows every one of them settles against the fault, however slow the machine is.
 */
import { createGateway, GatewayError, type Gateway, type GatewayConfig } from "../../src/index.js";
import { redisStore, type RedisStore } from "../../src/redis.js";
import type { ProviderAdapter } from "../../src/core/provider-adapter.js";
import { mockProvider, type MockProvider } from "../../src/testing.js";

/** How the parent describes this process's gateway. */
export interface FleetStart {
  type: "start";
  url: string;
  prefix: string;
  onError: "open" | "closed";
  /** Mock providers by name: what each answers, whether it fails every call with `failStatus`, how long it takes. */
  providers: Record<string, { reply: string; failStatus?: number; latencyMs?: number }>;
  /** Options of `redisStore` beyond prefix and onError. */
  storeOptions?: { commandTimeoutMs?: number; pauseAfterFailureMs?: number; firstConnectTimeoutMs?: number };
  /** The rest of the gateway config (models, keys, users, cache, cooldown, prices, retry). */
  config: Omit<GatewayConfig, "providers" | "store">;
}

export interface FleetChat {
  type: "chat";
  id: number;
  requests: { model: string; content: string; key?: string; user?: string; maxTokens?: number }[];
}

export interface FleetQuery {
  type: "health" | "calls" | "stats" | "hold" | "release" | "close";
  id: number;
}

export type FleetMessage = FleetStart | FleetChat | FleetQuery;

/** One chat's outcome as the parent sees it. */
export interface FleetOutcome {
  ok: boolean;
  content?: string;
  cache?: string;
  deployment?: string;
  costUsd?: number;
  code?: string;
  message?: string;
  /** How long the call took, in ms. */
  ms: number;
}

let gateway: Gateway | undefined;
let store: RedisStore | undefined;
const mocks: Record<string, MockProvider> = {};
/** While set, chats that reached a provider wait here for `release`. */
let held: (() => void)[] | undefined;

/** The mock, with its answers kept back while the gate is held. */
function gated(mock: MockProvider): ProviderAdapter {
  return {
    name: mock.name,
    async chat(request, ctx) {
      const response = await mock.chat(request, ctx);
      const gate = held;
      if (gate) await new Promise<void>((resolve) => gate.push(resolve));
      return response;
    },
    stream: (request, ctx) => mock.stream(request, ctx),
    embed: (input, ctx) => mock.embed!(input, ctx),
  };
}

function reply(message: object): void {
  process.send?.(message);
}

async function chatOnce(request: FleetChat["requests"][number]): Promise<FleetOutcome> {
  const started = performance.now();
  const ms = (): number => performance.now() - started;
  try {
    const response = await gateway!.chat(
      { model: request.model, messages: [{ role: "user", content: request.content }], max_tokens: request.maxTokens ?? 10 },
      { key: request.key, user: request.user },
    );
    return {
      ok: true,
      content: response.choices[0]?.message.content ?? undefined,
      cache: response.gateway.cache,
      deployment: response.gateway.deployment,
      costUsd: response.gateway.costUsd,
      ms: ms(),
    };
  } catch (error) {
    const code = error instanceof GatewayError ? error.code : "unexpected";
    return { ok: false, code, message: error instanceof Error ? error.message.split("\n")[0] : String(error), ms: ms() };
  }
}

process.on("message", async (message: FleetMessage) => {
  if (message.type === "start") {
    for (const [name, spec] of Object.entries(message.providers)) {
      mocks[name] = mockProvider({
        name,
        reply: spec.reply,
        usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
        latencyMs: spec.latencyMs,
        fail: spec.failStatus === undefined ? undefined : { status: spec.failStatus, times: Number.POSITIVE_INFINITY },
      });
    }
    store = redisStore({ url: message.url }, { ...message.storeOptions, prefix: message.prefix, onError: message.onError });
    const providers = Object.fromEntries(Object.entries(mocks).map(([name, mock]) => [name, gated(mock)]));
    gateway = createGateway({ ...message.config, providers, store } as GatewayConfig);
    reply({ type: "started" });
    return;
  }
  if (message.type === "chat") {
    const outcomes = await Promise.all(message.requests.map(chatOnce));
    reply({ id: message.id, outcomes });
    return;
  }
  if (message.type === "health") {
    reply({ id: message.id, health: gateway!.health() });
    return;
  }
  if (message.type === "stats") {
    reply({ id: message.id, stats: { pendingSettlements: store?.pendingSettlements ?? 0, ...store?.stats?.() } });
    return;
  }
  if (message.type === "hold") {
    held ??= [];
    reply({ id: message.id });
    return;
  }
  if (message.type === "release") {
    const waiting = held ?? [];
    held = undefined;
    for (const resolve of waiting) resolve();
    reply({ id: message.id, released: waiting.length });
    return;
  }
  if (message.type === "calls") {
    reply({ id: message.id, calls: Object.fromEntries(Object.entries(mocks).map(([name, mock]) => [name, mock.calls])) });
    return;
  }
  await gateway?.close();
  reply({ id: message.id });
  process.disconnect?.();
});
