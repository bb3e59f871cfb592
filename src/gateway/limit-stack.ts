import { declaredDeployments, type Deployment, type RouteTable } from "../core/route.js";
import type { GatewayEvents } from "../core/events.js";
import { createDeploymentLimits, deploymentLimitsApply } from "../limits/deployment-limits.js";
import { createLimits, limitsApply, type BudgetSeeding } from "../limits/call-limits.js";
import type { AttemptContext } from "../core/attempt-context.js";
import type { Middleware } from "../core/compose.js";
import type { CallContext } from "../core/call-context.js";
import type { StateStore } from "../stores/store.js";
import type { KeyConfig, LimitConfig, OnLimit } from "../limits/limits-schema.js";
import { createOpenAITokenizer } from "../limits/openai-tokenizer.js";
import { createPromptCounter } from "../limits/prompt-count.js";
import type { PromptCounter } from "../core/settle.js";

export interface LimitStackOptions {
  keys: Readonly<Record<string, KeyConfig>> | undefined;
  users: LimitConfig | undefined;
  onLimit: OnLimit | undefined;
  /** Owned by the gateway, which closes it: the limit stack only uses it. */
  store: StateStore;
  table: RouteTable;
  events: GatewayEvents;
  /** Runtime keys (a control plane), looked up per call after `keys`. */
  runtimeKey?: (name: string) => LimitConfig | undefined;
  /** Budgets wait for it before a reservation (a control plane's ledger seeding). */
  budgetSeeding?: BudgetSeeding;
  /** Epoch ms; tests move it with fake `Date`. */
  now?: () => number;
}

/** The key/user limits step and the deployment-limit attempt step, as configured. */
export interface LimitStack {
  /** Key/user limits, when any are configured. */
  readonly callMiddleware: Middleware<CallContext>[];
  /** Deployment RPM/TPM, when any deployment declares them. */
  readonly attemptMiddleware: Middleware<AttemptContext>[];
  /** The gateway's one prompt counter, for every call's context (`promptTokensOf`). */
  readonly countPrompt: PromptCounter;
}

/**
 * Builds what `createGateway` registers at its limits slot. Only what the config asks for is
 * registered: a gateway without `keys`/`users` caps or deployment limits registers nothing here.
 */
export function createLimitStack(options: LimitStackOptions): LimitStack {
  const now = options.now ?? Date.now;
  const store = options.store;
  const keys = options.keys ?? {};
  const deployments = declaredDeployments(options.table);
  const tokenizer = createOpenAITokenizer();
  const callMiddleware: Middleware<CallContext>[] = [];
  const attemptMiddleware: Middleware<AttemptContext>[] = [];

  const anyTpm = Object.values(keys).some((key) => key.tpm !== undefined) || options.users?.tpm !== undefined || deployments.some((d) => d.tpm !== undefined);
  // A runtime key may be given a TPM cap at any time.
  if (anyTpm || options.runtimeKey) tokenizer.load();

  // Runtime keys may get caps at any time: with them the step is always registered.
  if (limitsApply(keys, options.users) || options.runtimeKey) {
    const onLimit = options.onLimit ?? "reject";
    callMiddleware.push(
      createLimits({
        table: options.table,
        keys,
        users: options.users,
        queue: onLimit === "reject" ? undefined : onLimit.queue,
        store,
        events: options.events,
        now,
        runtimeKey: options.runtimeKey,
        budgetSeeding: options.budgetSeeding,
      }),
    );
  }
  if (deploymentLimitsApply(deployments)) {
    attemptMiddleware.push(createDeploymentLimits({ store, events: options.events, now }));
  }
  const countPrompt = createPromptCounter({ keys, users: options.users, runtimeKey: options.runtimeKey, table: options.table, tokenizer });
  return { callMiddleware, attemptMiddleware, countPrompt };
}
