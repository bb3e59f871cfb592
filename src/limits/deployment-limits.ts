import { requestedMaxTokens } from "../core/chat-request.js";
import type { Usage } from "../core/chat-response.js";
import type { Deployment } from "../core/route.js";
import type { GatewayEvents } from "../core/events.js";
import { reportLimit } from "./report-limit.js";
import { DEFAULT_MAX_OUTPUT_TOKENS } from "../core/token-estimate.js";
import { promptTokensOf } from "../core/settle.js";
import { watchStreamUsage } from "./watch-stream-usage.js";
import type { AttemptContext } from "../core/attempt-context.js";
import type { Middleware } from "../core/compose.js";
import { DeploymentSkip } from "../core/deployment-skip.js";
import type { StateStore, TokenDraw } from "../stores/store.js";

export interface DeploymentLimitsOptions {
  store: StateStore;
  events: GatewayEvents;
  now: () => number;
}

/** True when any deployment declares `rpm` or `tpm`. */
export function deploymentLimitsApply(deployments: Iterable<Deployment>): boolean {
  for (const deployment of deployments) if (deployment.rpm !== undefined || deployment.tpm !== undefined) return true;
  return false;
}

/**
 * A deployment's own `rpm`/`tpm`, per attempt (each try is a request to the provider). A
 * deployment without capacity is skipped, not failed: `DeploymentSkip` sends the router to the
 * next candidate without a failure on the deployment's health, and when every candidate is full
 * the call fails with `RateLimitError` (scope `deployment`) saying when the first has room.
 * Deployment limits never queue, even with `onLimit: { queue }`: another deployment may serve now.
 * TPM reserves the prompt plus the request's max output (else the deployment's, else 4,096) and
 * is settled to the reported usage when the attempt ends; a failed attempt gives its tokens back
 * (its request still counts).
 */
export function createDeploymentLimits(options: DeploymentLimitsOptions): Middleware<AttemptContext> {
  const { store, events, now } = options;
  // Per deployment, built on first use: the RPM draw is reused as is, the TPM draw gets each call's amount.
  const plans = new Map<string, { rpm: TokenDraw | undefined; tpm: TokenDraw | undefined }>();
  const planOf = (deployment: Deployment) => {
    let plan = plans.get(deployment.id);
    if (!plan) {
      plan = {
        rpm: deployment.rpm === undefined ? undefined : bucket("rpm", deployment, deployment.rpm, 1),
        tpm: deployment.tpm === undefined ? undefined : bucket("tpm", deployment, deployment.tpm, 0),
      };
      plans.set(deployment.id, plan);
    }
    return plan;
  };

  return async function deploymentLimits(attempt, next) {
    const { deployment, call } = attempt;
    if (deployment.rpm === undefined && deployment.tpm === undefined) return next();

    const plan = planOf(deployment);
    const draws: TokenDraw[] = [];
    if (plan.rpm) draws.push(plan.rpm);
    let tpm: TokenDraw | undefined;
    if (plan.tpm) {
      const prompt = promptTokensOf(call);
      const output = requestedMaxTokens(call.request) ?? deployment.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
      tpm = { ...plan.tpm, amount: prompt + output };
      draws.push(tpm);
    }

    const result = await store.consumeTokens(draws, now());
    if (!result.ok) {
      const kind = draws[result.blocking] === tpm ? "tpm" : "rpm";
      reportLimit(events, call, { scope: "deployment", kind, action: "skipped", waitMs: result.retryAfterMs, deployment: deployment.id });
      throw new DeploymentSkip("capacity", result.retryAfterMs, `${deployment.id} is at its ${kind.toUpperCase()} limit`);
    }
    if (!tpm) return next();

    const reserved = tpm;
    const settle = (usage: Usage | undefined): void => {
      if (!usage) return; // nothing reported: the reservation stands
      const used = usage.prompt_tokens + usage.completion_tokens;
      if (Number.isFinite(used) && used >= 0) void store.refundTokens([{ ...reserved, amount: reserved.amount - used }], now()).catch(ignore);
    };
    try {
      await next();
    } catch (error) {
      void store.refundTokens([reserved], now()).catch(ignore);
      throw error;
    }
    if (attempt.chunks) attempt.chunks = watchStreamUsage(attempt.chunks, settle);
    else settle(attempt.response?.usage);
  };
}

function bucket(kind: "rpm" | "tpm", deployment: Deployment, perMinute: number, amount: number): TokenDraw {
  return { key: `${kind}:deployment:${deployment.id}`, amount, capacity: perMinute, refillPerMs: perMinute / 60_000 };
}

/** A refund the store failed to make leaves the bucket lower; it refills on its own. */
function ignore(): void {}
