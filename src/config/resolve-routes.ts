import type { Issue } from "../core/errors.js";
import type { ProviderAdapter } from "../core/provider-adapter.js";
import type { Deployment, ModelFactsLookup, Route, RouteTable } from "../core/route.js";
import { echo, echoList } from "../core/echo.js";
import { DEFAULT_FALLBACK_ON } from "../routing/decide.js";
import type { DeploymentConfig, RouteConfig } from "./schema.js";

type RouteInput = string | RouteConfig;

function splitShorthand(value: string): { provider: string; model: string } {
  const slash = value.indexOf("/");
  return { provider: value.slice(0, slash), model: value.slice(slash + 1) };
}

/** Direct `provider/model` routes are kept for reuse, but only so many: names come from callers. */
const MAX_DIRECT_ROUTES = 256;

/** Whether the catalog of the vendor behind config provider `provider` lists `model`. */
export type CatalogKnows = (provider: string, model: string) => boolean;

/**
 * Builds the route table. `knows` lets a bare model name (`gpt-4o`, `qwen/qwen3-32b` when no
 * provider is called `qwen`) reach the one configured provider whose catalog lists it; without
 * it, only declared names and `provider/model` resolve.
 */
export function buildRouteTable(
  providers: Readonly<Record<string, ProviderAdapter>>,
  models: Readonly<Record<string, RouteInput>>,
  facts: ModelFactsLookup,
  issues: Issue[],
  knows: CatalogKnows = () => false,
): RouteTable {
  const providerNames = Object.keys(providers);
  const deployments = new Map<string, Deployment>();
  // Own properties only: a provider named `constructor` or `toString` is not Object.prototype's.
  const adapterOf = (name: string): ProviderAdapter | undefined => (Object.hasOwn(providers, name) ? providers[name] : undefined);

  const providerIssue = (path: string, provider: string): void => {
    issues.push({
      path,
      message: `'${echo(provider)}' is not a configured provider (have: ${echoList(providerNames) || "none"})`,
    });
  };

  const makeDeployment = (config: DeploymentConfig, path: string): Deployment | undefined => {
    const adapter = adapterOf(config.provider);
    if (!adapter) {
      providerIssue(`${path}.provider`, config.provider);
      return undefined;
    }
    const known = facts(config.provider, config.model);
    let id = `${config.provider}/${config.model}`;
    // The same provider/model may appear with different limits in two routes; keep them apart.
    for (let n = 2; deployments.has(id) && !sameDeployment(deployments.get(id)!, config); n++) {
      id = `${config.provider}/${config.model}#${n}`;
    }
    const existing = deployments.get(id);
    if (existing) return existing;
    const deployment: Deployment = {
      id,
      provider: config.provider,
      adapter,
      model: config.model,
      weight: config.weight ?? 1,
      rpm: config.rpm,
      tpm: config.tpm,
      timeoutMs: config.timeoutMs,
      contextWindow: config.contextWindow ?? known?.contextWindow,
      maxOutputTokens: config.maxOutputTokens ?? known?.maxOutputTokens,
      price: config.price ?? known?.price,
      ...(known?.deprecated ? { deprecated: known.deprecated } : {}),
    };
    deployments.set(id, deployment);
    return deployment;
  };

  const fromShorthand = (value: string, path: string): Deployment | undefined => {
    const { provider, model } = splitShorthand(value);
    if (!adapterOf(provider)) {
      providerIssue(path, provider);
      return undefined;
    }
    return makeDeployment({ provider, model }, path);
  };

  const routes = new Map<string, Route>();
  for (const [name, input] of Object.entries(models)) {
    const path = `models.${name}`;
    if (typeof input === "string") {
      const deployment = fromShorthand(input, path);
      if (deployment) routes.set(name, { name, deployments: [deployment], strategy: "ordered", fallbacks: [], cache: true, fallbackOn: DEFAULT_FALLBACK_ON });
      continue;
    }
    const list: Deployment[] = [];
    input.deployments.forEach((entry, index) => {
      const entryPath = `${path}.deployments[${index}]`;
      const deployment = typeof entry === "string" ? fromShorthand(entry, entryPath) : makeDeployment(entry, entryPath);
      if (deployment) list.push(deployment);
    });
    routes.set(name, {
      name,
      deployments: list,
      strategy: input.strategy ?? "ordered",
      fallbacks: input.fallbacks ?? [],
      cache: input.cache ?? true,
      fallbackOn: input.fallbackOn ?? DEFAULT_FALLBACK_ON,
      ...(input.accept ? { accept: input.accept } : {}),
      ...(input.hedge ? { hedge: input.hedge } : {}),
    });
  }

  /** The configured providers whose catalog lists `model`, as `provider/model` names. */
  const servedBy = (model: string): string[] =>
    providerNames.filter((provider) => knows(provider, model)).map((provider) => `${provider}/${model}`);

  // Fallbacks may name declared routes, direct provider/model names or bare catalog names.
  for (const [name, input] of Object.entries(models)) {
    if (typeof input === "string") continue;
    (input.fallbacks ?? []).forEach((fallback, index) => {
      const path = `models.${name}.fallbacks[${index}]`;
      if (fallback === name) issues.push({ path, message: `a route cannot fall back to itself` });
      else if (routes.has(fallback) || servedBy(fallback).length === 1) return;
      else if (fallback.includes("/")) {
        if (!adapterOf(splitShorthand(fallback).provider)) providerIssue(path, splitShorthand(fallback).provider);
      } else {
        issues.push({
          path,
          message: `'${echo(fallback)}' is not a declared model (have: ${echoList(routes.keys()) || "none"}) nor 'provider/model'`,
        });
      }
    });
  }

  /** A one-deployment route straight to `provider`, reusing a declared deployment of the same model. */
  const directRoute = (name: string, provider: string, adapter: ProviderAdapter, model: string): Route => {
    const id = `${provider}/${model}`;
    const known = facts(provider, model);
    const deployment = deployments.get(id) ?? {
      id, provider, adapter, model, weight: 1, rpm: undefined, tpm: undefined, timeoutMs: undefined,
      contextWindow: known?.contextWindow, maxOutputTokens: known?.maxOutputTokens, price: known?.price,
      ...(known?.deprecated ? { deprecated: known.deprecated } : {}),
    };
    const route: Route = { name, deployments: [deployment], strategy: "ordered", fallbacks: [], cache: true, fallbackOn: DEFAULT_FALLBACK_ON };
    if (direct.size < MAX_DIRECT_ROUTES) direct.set(name, route);
    return route;
  };

  const direct = new Map<string, Route>();
  return {
    routes,
    resolve(name) {
      const declared = routes.get(name);
      if (declared) return declared;
      const cached = direct.get(name);
      if (cached) return cached;
      if (name.length === 0) return undefined;
      const slash = name.indexOf("/");
      if (slash > 0 && slash < name.length - 1) {
        const { provider, model } = splitShorthand(name);
        const adapter = adapterOf(provider);
        if (adapter) return directRoute(name, provider, adapter, model);
      }
      // A bare name (or a vendor's own `org/model` name): exactly one provider must know it.
      const candidates = providerNames.filter((provider) => knows(provider, name));
      if (candidates.length !== 1) return undefined;
      const provider = candidates[0]!;
      return directRoute(name, provider, adapterOf(provider)!, name);
    },
    servedBy,
  };
}

function sameDeployment(deployment: Deployment, config: DeploymentConfig): boolean {
  return (
    deployment.rpm === config.rpm &&
    deployment.tpm === config.tpm &&
    deployment.timeoutMs === config.timeoutMs &&
    (config.weight ?? 1) === deployment.weight &&
    config.price === undefined &&
    config.contextWindow === undefined &&
    config.maxOutputTokens === undefined
  );
}
