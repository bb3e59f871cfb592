import { requestedMaxTokens } from "../core/chat-request.js";
import type { Deployment, Route, RouteTable } from "../core/route.js";
import { addUsd, estimateMaxCostUsd } from "../core/cost.js";
import { BudgetExceededError, UnpricedModelError } from "../core/errors.js";
import type { GatewayEvents } from "../core/events.js";
import { BudgetGuard, type BudgetHold, type BudgetScope } from "./budget-guard.js";
import { keyScopeId, userScopeId } from "./budget-counter.js";
import type { BudgetConfig, LimitConfig } from "./limits-schema.js";
import { RateLimiter, type LimitDraw, type LimitHit } from "./rate-limiter.js";
import { promptTokenBound, promptTokensOn } from "./prompt-token-bound.js";
import { reachableDeployments } from "./reachable-deployments.js";
import { reportLimit } from "./report-limit.js";
import { DEFAULT_MAX_OUTPUT_TOKENS } from "../core/token-estimate.js";
import type { Middleware } from "../core/compose.js";
import type { CallContext } from "../core/call-context.js";
import { promptTokensOf, settleFailedCall, whenSettled } from "../core/settle.js";
import type { StateStore } from "../stores/store.js";

export interface LimitsOptions {
  table: RouteTable;
  /** Key caps by key name; keys without caps may be left out. */
  keys: Readonly<Record<string, LimitConfig>>;
  /** Default caps per end user, counted per (key, user). */
  users: LimitConfig | undefined;
  /** `undefined`: reject at once. */
  queue: { maxWaitMs: number } | undefined;
  store: StateStore;
  events: GatewayEvents;
  now: () => number;
  /**
   * Caps of keys not in `keys` (runtime keys of a control plane), asked per call: a change
   * (new RPM/TPM, a new budget) applies from the next call.
   */
  runtimeKey?: (name: string) => LimitConfig | undefined;
  /** Awaited before a budget is reserved: the counters start from what was already spent. */
  budgetSeeding?: BudgetSeeding;
}

/** Makes sure a call's budget counters hold what was spent before this gateway counted them. */
export interface BudgetSeeding {
  ready(scopes: readonly BudgetScope[], now: number): Promise<void>;
}

/** Shapes of one scope's buckets and its budget, built once at `createGateway`. */
interface ScopePlan {
  readonly rpm: number | undefined;
  readonly tpm: number | undefined;
  readonly budget: BudgetConfig | undefined;
}

/**
 * One scope's draws and budget scope, built once (a key's at `createGateway`, a user's on its
 * first call): the RPM draw is reused as is, the TPM draw gets each call's amount. Building
 * them per call cost a few strings and objects each (bucket keys, labels), feeding the GC.
 */
interface ScopeDraws {
  readonly id: string;
  readonly rpmDraw: LimitDraw | undefined;
  readonly tpmDraw: LimitDraw | undefined;
  readonly budgetScope: BudgetScope | undefined;
}

interface KeyPlan extends ScopePlan, ScopeDraws {
  readonly label: string;
}

/** How many (key, user) pairs keep their draws between calls; past it the map starts over. */
const MAX_USER_DRAWS = 10_000;

/** What a route's calls can reach, computed once per route. */
interface Reach {
  readonly deployments: readonly Deployment[];
  /** The largest output any of them may produce (catalog cap, else the default). */
  readonly maxOutputTokens: number;
  /** Ids of the deployments without a price: a budget cannot hold their cost. */
  readonly unpriced: readonly string[];
}

/**
 * A reservation outlives the call's deadline by this much, for a stream still being read; a hold
 * never settled (a stream nobody reads or closes) lapses after it.
 */
const STREAM_HOLD_MS = 3_600_000;

/** True when any key or the users section caps something. */
export function limitsApply(keys: Readonly<Record<string, LimitConfig>>, users: LimitConfig | undefined): boolean {
  return Object.values(keys).some(hasCaps) || (users !== undefined && hasCaps(users));
}

function hasCaps(config: LimitConfig): boolean {
  return config.rpm !== undefined || config.tpm !== undefined || config.budget !== undefined;
}

/**
 * Key and user limits, just outside the router: RPM/TPM buckets taken before the call (rejected
 * or queued by `onLimit`), then the worst-case cost reserved on key and user budgets; after the
 * call, TPM is settled to the reported usage and budgets to the actual cost. Whatever was taken
 * is given back on every path: rejection, provider error, abort, timeout, abandoned stream.
 * Cache hits never get here, so they cost no RPM, TPM or budget.
 *
 * The TPM draw is the prompt (OpenAI's tokenizer for OpenAI models when loaded, else the
 * estimate) plus the most output the call may produce: `max_completion_tokens` / `max_tokens`,
 * else the largest catalog output cap among the deployments it can reach, else 4,096.
 * The budget reservation is the worst cost among those deployments: the prompt at an upper
 * bound of what the provider can bill (UTF-8 bytes, images at their provider's ceiling) at the
 * dearest input price, that output at the output price. With a budget in force, a call that
 * could reach a deployment without a price is refused (`UnpricedModelError`) before anything
 * is taken or sent.
 */
export function createLimits(options: LimitsOptions): Middleware<CallContext> {
  const { table, events } = options;
  const limiter = new RateLimiter(options.store, options.queue, options.now);
  const budgets = new BudgetGuard(options.store, options.now);
  const keyPlans = new Map<string, KeyPlan>();
  for (const [name, config] of Object.entries(options.keys)) {
    if (hasCaps(config)) keyPlans.set(name, keyPlanOf(name, config));
  }
  // Runtime keys' plans, rebuilt when the control plane hands out a new config object (a change).
  const runtimePlans = new Map<string, { config: LimitConfig; plan: KeyPlan | undefined }>();
  const runtimeKey = options.runtimeKey;
  const planFor = (name: string): KeyPlan | undefined => {
    const fixed = keyPlans.get(name);
    if (fixed || !runtimeKey || Object.hasOwn(options.keys, name)) return fixed;
    const config = runtimeKey(name);
    if (!config) {
      runtimePlans.delete(name);
      return undefined;
    }
    let entry = runtimePlans.get(name);
    if (!entry || entry.config !== config) {
      entry = { config, plan: hasCaps(config) ? keyPlanOf(name, config) : undefined };
      runtimePlans.set(name, entry);
    }
    return entry.plan;
  };
  const userPlan = options.users && hasCaps(options.users) ? planOf(options.users) : undefined;
  // Per key name, per user: that pair's draws. Bounded: a gateway serving more users than
  // the bound rebuilds some per call, as every call did before.
  const userDraws = new Map<string, Map<string, ScopeDraws>>();
  let userDrawCount = 0;
  const userDrawsOf = (plan: ScopePlan, key: string | undefined, user: string): ScopeDraws => {
    const keyName = key ?? "";
    let ofKey = userDraws.get(keyName);
    let draws = ofKey?.get(user);
    if (draws) return draws;
    if (userDrawCount >= MAX_USER_DRAWS) {
      userDraws.clear();
      userDrawCount = 0;
      ofKey = undefined;
    }
    if (!ofKey) {
      ofKey = new Map();
      userDraws.set(keyName, ofKey);
    }
    draws = userScopeDraws(plan, userId(key, user));
    ofKey.set(user, draws);
    userDrawCount++;
    return draws;
  };
  // Each call's report of a limit that held it back: one function, handed the call.
  const onHit = (hit: LimitHit, ctx: CallContext): void =>
    reportLimit(events, ctx, { scope: hit.draw.scope, kind: hit.draw.kind, action: hit.action, waitMs: hit.waitMs });
  // Keyed by the route object: declared routes live as long as the gateway, direct ones are capped.
  const reaches = new WeakMap<Route, Reach>();

  const reachOf = (route: Route): Reach => {
    let reach = reaches.get(route);
    if (!reach) {
      const deployments = reachableDeployments(route, table);
      let maxOutputTokens = 0;
      for (const deployment of deployments) {
        maxOutputTokens = Math.max(maxOutputTokens, deployment.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS);
      }
      reach = {
        deployments,
        maxOutputTokens: maxOutputTokens || DEFAULT_MAX_OUTPUT_TOKENS,
        unpriced: deployments.filter((deployment) => !deployment.price).map((deployment) => deployment.id),
      };
      reaches.set(route, reach);
    }
    return reach;
  };

  return async function limits(ctx, next) {
    const { key, user } = ctx.options;
    const keyPlan = key === undefined ? undefined : planFor(key);
    const forUser = user === undefined ? undefined : userPlan;
    if (!keyPlan && !forUser) return next();

    const usesTokens = keyPlan?.tpm !== undefined || forUser?.tpm !== undefined;
    const usesBudget = keyPlan?.budget !== undefined || forUser?.budget !== undefined;
    let reservedTokens = 0;
    let worstCaseUsd = 0;
    if (usesTokens || usesBudget) {
      const reach = reachOf(ctx.route);
      // Refused before anything is taken or sent: a budget cannot limit what it cannot price.
      if (usesBudget && reach.unpriced.length > 0) throw new UnpricedModelError(reach.unpriced);
      const prompt = promptTokensOf(ctx);
      const requested = requestedMaxTokens(ctx.request);
      reservedTokens = prompt + (requested ?? reach.maxOutputTokens);
      if (usesBudget) {
        // Plus what a step inside the limits bills beyond the answer (the semantic lookup's embedding).
        worstCaseUsd = addUsd(worstCase(reach.deployments, ctx.request, requested, ctx.route.strategy === "cascade"), ctx.reserveExtraUsd ?? 0);
      }
    }

    const forUserDraws = forUser ? userDrawsOf(forUser, key, user!) : undefined;
    const draws: LimitDraw[] = [];
    // The TPM draws, for the settlement's refund of what the call did not use.
    let tpmDraws: LimitDraw[] | undefined;
    if (keyPlan?.rpmDraw) draws.push(keyPlan.rpmDraw);
    if (keyPlan?.tpmDraw) draws.push(((tpmDraws ??= [])[0] = withAmount(keyPlan.tpmDraw, reservedTokens)));
    if (forUserDraws?.rpmDraw) draws.push(forUserDraws.rpmDraw);
    if (forUserDraws?.tpmDraw) {
      const draw = withAmount(forUserDraws.tpmDraw, reservedTokens);
      draws.push(draw);
      (tpmDraws ??= []).push(draw);
    }
    if (draws.length > 0) await limiter.acquire(draws, ctx.signal, onHit, ctx);

    let hold: BudgetHold | undefined;
    if (usesBudget) {
      const scopes: BudgetScope[] = [];
      if (keyPlan?.budgetScope) scopes.push(keyPlan.budgetScope);
      if (forUserDraws?.budgetScope) scopes.push(forUserDraws.budgetScope);
      try {
        if (options.budgetSeeding) await options.budgetSeeding.ready(scopes, options.now());
        hold = await budgets.reserve(scopes, worstCaseUsd, Math.max(0, ctx.deadline - performance.now()) + STREAM_HOLD_MS);
      } catch (error) {
        // The call never ran: it takes no requests or tokens either.
        limiter.refund(draws);
        if (error instanceof BudgetExceededError) reportLimit(events, ctx, { scope: error.scope, kind: "budget", action: "rejected", waitMs: 0 });
        throw error;
      }
    }

    try {
      await next();
    } catch (error) {
      // No answer: tokens go back; requests too unless a provider was actually asked.
      const attempted = ctx.attempts.length > 0;
      limiter.refund(attempted ? (tpmDraws ?? NO_DRAWS) : draws);
      // What it paid before failing (a semantic lookup's embedding, earlier cascade tiers) stays spent.
      if (hold) budgets.settle(hold, settleFailedCall(ctx, error).costUsd);
      throw error;
    }

    whenSettled(ctx, (settlement) => {
      const usage = settlement.usage;
      if (tpmDraws && usage) {
        const unused = reservedTokens - (usage.prompt_tokens + usage.completion_tokens);
        // Reserved minus used: a refund, or a further charge when the call used more.
        limiter.refund(tpmDraws.length === 1 ? [withAmount(tpmDraws[0]!, unused)] : tpmDraws.map((draw) => withAmount(draw, unused)));
      }
      if (hold) budgets.settle(hold, settlement.costUsd);
    });
  };
}

function planOf(config: LimitConfig): ScopePlan {
  return { rpm: config.rpm, tpm: config.tpm, budget: config.budget };
}

function keyPlanOf(name: string, config: LimitConfig): KeyPlan {
  const id = keyScopeId(name);
  const label = `key '${name}'`;
  const plan = planOf(config);
  return {
    ...plan,
    id,
    label,
    rpmDraw: rpmDraw(plan, id, "key", label),
    tpmDraw: tpmDraw(plan, id, "key", label, 0),
    budgetScope: plan.budget && { scope: "key", id, label, budget: plan.budget },
  };
}

/** A (key, user) pair's draws: labels say `user`, never the id (user ids stay out of errors). */
function userScopeDraws(plan: ScopePlan, id: string): ScopeDraws {
  return {
    id,
    rpmDraw: rpmDraw(plan, id, "user", "user"),
    tpmDraw: tpmDraw(plan, id, "user", "user", 0),
    budgetScope: plan.budget && { scope: "user", id, label: "user", budget: plan.budget },
  };
}

const NO_DRAWS: readonly LimitDraw[] = [];

/** `draw` taking `amount`: a literal, not a spread (V8 builds a spread copy on a slow path). */
function withAmount(draw: LimitDraw, amount: number): LimitDraw {
  return { key: draw.key, amount, capacity: draw.capacity, refillPerMs: draw.refillPerMs, scope: draw.scope, kind: draw.kind, label: draw.label };
}

const userId = userScopeId;

function rpmDraw(plan: ScopePlan, id: string, scope: "key" | "user", label: string): LimitDraw | undefined {
  if (plan.rpm === undefined) return undefined;
  return { key: `rpm:${id}`, amount: 1, capacity: plan.rpm, refillPerMs: plan.rpm / 60_000, scope, kind: "rpm", label: `${label} RPM limit ${plan.rpm}` };
}

function tpmDraw(plan: ScopePlan, id: string, scope: "key" | "user", label: string, tokens: number): LimitDraw | undefined {
  if (plan.tpm === undefined) return undefined;
  return { key: `tpm:${id}`, amount: tokens, capacity: plan.tpm, refillPerMs: plan.tpm / 60_000, scope, kind: "tpm", label: `${label} TPM limit ${plan.tpm}` };
}

/**
 * The most the call can cost on any deployment it can reach: the prompt at its bound (never
 * the estimate, see `promptTokenBound`), the output at what the call may produce there.
 * Every deployment has a price here (the caller refused the call otherwise). A cascade may pay
 * every tier, so its worst case is their sum.
 */
function worstCase(deployments: readonly Deployment[], request: CallContext["request"], requested: number | undefined, everyOne = false): number {
  const bound = promptTokenBound(request);
  let worst = 0;
  for (const deployment of deployments) {
    if (!deployment.price) continue;
    const output = requested ?? deployment.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
    const cost = estimateMaxCostUsd(promptTokensOn(bound, deployment), output, deployment.price);
    worst = everyOne ? worst + cost : Math.max(worst, cost);
  }
  return worst;
}
