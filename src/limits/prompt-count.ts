import type { Route, RouteTable } from "../core/route.js";
import type { PromptCounter } from "../core/settle.js";
import { promptTokensForLimit } from "../core/token-estimate.js";
import type { LimitConfig } from "./limits-schema.js";
import type { OpenAITokenizer } from "./openai-tokenizer.js";
import { reachableDeployments } from "./reachable-deployments.js";

export interface PromptCountOptions {
  keys: Readonly<Record<string, LimitConfig>>;
  users: LimitConfig | undefined;
  runtimeKey?: (name: string) => LimitConfig | undefined;
  table: RouteTable;
  tokenizer: OpenAITokenizer;
}

/**
 * The gateway's one prompt counter (see `promptTokensOf`): the fast estimate, or OpenAI's
 * tokenizer (for a route whose first deployment is an OpenAI model, once loaded) when the prompt
 * is large next to the tightest TPM limit the call can meet (its key's, its user's, or a
 * deployment's it can reach), where precision can change an admission decision. Key limits,
 * user limits, deployment limits, context-window checks and cost estimates all read this one count.
 */
export function createPromptCounter(options: PromptCountOptions): PromptCounter {
  const { keys, users, runtimeKey, table, tokenizer } = options;
  // Keyed by the route object: declared routes live as long as the gateway, direct ones are capped.
  const deploymentTpm = new WeakMap<Route, number>();
  const tightestDeploymentTpm = (route: Route): number => {
    let tpm = deploymentTpm.get(route);
    if (tpm === undefined) {
      tpm = Number.POSITIVE_INFINITY;
      for (const deployment of reachableDeployments(route, table)) {
        if (deployment.tpm !== undefined) tpm = Math.min(tpm, deployment.tpm);
      }
      deploymentTpm.set(route, tpm);
    }
    return tpm;
  };
  return (request, route, who) => {
    const counter = tokenizer.counterFor(route.deployments[0]?.model ?? "");
    if (!counter) return promptTokensForLimit(request, undefined, Number.POSITIVE_INFINITY);
    let tightest = tightestDeploymentTpm(route);
    const key = who.key;
    if (key !== undefined) {
      const config = Object.hasOwn(keys, key) ? keys[key] : runtimeKey?.(key);
      if (config?.tpm !== undefined) tightest = Math.min(tightest, config.tpm);
    }
    if (who.user !== undefined && users?.tpm !== undefined) tightest = Math.min(tightest, users.tpm);
    return promptTokensForLimit(request, counter, tightest);
  };
}
