/**
 * Every error modelgate throws extends `GatewayError` and carries a stable `code`, so callers
 * can branch with `instanceof` or on `error.code` (the latter survives serialization).
 * Messages never include API keys, headers or prompt content, and repeat input only capped.
 */
import { echo, echoList, MAX_MESSAGE_CHARS } from "./echo.js";

/** One problem with a config or a request body: where, and what was expected. */
export interface Issue {
  /** Dotted path with [index] for arrays, e.g. `models.smart.deployments[1].provider`. */
  path: string;
  message: string;
}

export type GatewayErrorCode =
  | "config_invalid"
  | "request_invalid"
  | "model_not_allowed"
  | "rate_limited"
  | "budget_exceeded"
  | "model_unpriced"
  | "provider_error"
  | "all_failed"
  | "timeout"
  | "aborted"
  | "gateway_closed"
  | "store_unavailable";

export abstract class GatewayError extends Error {
  abstract readonly code: GatewayErrorCode;
  constructor(message?: string, options?: ErrorOptions) {
    // The backstop: each echoed value is capped where it is written, the whole message here.
    super(message === undefined ? undefined : echo(message, MAX_MESSAGE_CHARS), options);
  }
}

function listIssues(headline: string, issues: readonly Issue[]): string {
  return [headline, ...issues.map((issue) => `  - ${issue.path ? `${issue.path}: ` : ""}${issue.message}`)].join("\n");
}

/** The config given to `createGateway` is invalid; `issues` lists every bad path. */
export class ConfigError extends GatewayError {
  readonly code = "config_invalid" as const;
  override readonly name = "ConfigError";
  constructor(readonly issues: readonly Issue[]) {
    super(listIssues("Invalid modelgate config:", issues));
  }
}

/** The request body cannot be served as asked; `issues` lists every bad path. */
export class InvalidRequestError extends GatewayError {
  readonly code = "request_invalid" as const;
  override readonly name = "InvalidRequestError";
  constructor(readonly issues: readonly Issue[], headline = "Invalid chat request:") {
    super(listIssues(headline, issues));
  }
}

/** A virtual key asked for a logical model outside its `models` list. */
export class ModelNotAllowedError extends GatewayError {
  readonly code = "model_not_allowed" as const;
  override readonly name = "ModelNotAllowedError";
  constructor(
    readonly key: string,
    readonly model: string,
    readonly allowed: readonly string[],
  ) {
    super(`Key '${echo(key)}' may not use model '${echo(model)}' (allowed: ${echoList(allowed) || "none"})`);
  }
}

export type LimitScope = "key" | "user" | "deployment";

export class RateLimitError extends GatewayError {
  readonly code = "rate_limited" as const;
  override readonly name = "RateLimitError";
  constructor(
    readonly scope: LimitScope,
    /** When a retry can succeed, in ms from now. */
    readonly retryAfterMs: number,
    detail: string,
  ) {
    super(`Rate limit reached for ${scope}: ${detail}; retry after ${Math.ceil(retryAfterMs)} ms`);
  }
}

export class BudgetExceededError extends GatewayError {
  readonly code = "budget_exceeded" as const;
  override readonly name = "BudgetExceededError";
  constructor(
    readonly scope: "key" | "user",
    readonly limitUsd: number,
    /** Spent plus reserved by calls in flight, in USD. */
    readonly spentUsd: number,
    detail: string,
  ) {
    // `detail` usually names the scope already ("key 'k' (day; ...)"): say it once.
    const subject = detail.startsWith(scope) ? detail : `${scope} ${detail}`;
    super(`Budget exceeded for ${subject}: limit $${limitUsd}, spent $${spentUsd.toFixed(6)}`);
  }
}

/**
 * A budget is in force for the call, but a deployment it could reach has no price (neither the
 * model catalog nor `prices` knows it), so its cost could not be held against the budget.
 * Refused before any provider is asked. Price it in the config (`prices: { "<model>": { input,
 * output } }`, USD per 1M tokens; `{ input: 0, output: 0 }` for a free local model).
 */
export class UnpricedModelError extends GatewayError {
  readonly code = "model_unpriced" as const;
  override readonly name = "UnpricedModelError";
  constructor(
    /** The `provider/model` ids without a price. */
    readonly deployments: readonly string[],
  ) {
    const shown = deployments.slice(0, 5).map((id) => `'${id.length > 200 ? `${id.slice(0, 200)}...` : id}'`);
    const models = deployments.slice(0, 5).map((id) => {
      const model = id.slice(id.indexOf("/") + 1);
      return `"${model.length > 200 ? `${model.slice(0, 200)}...` : model}": { input, output }`;
    });
    super(
      `A budget applies to this call but ${shown.join(", ")}${deployments.length > 5 ? ` and ${deployments.length - 5} more` : ""} ` +
        `has no price, so its cost cannot be held against the budget: add prices: { ${models.join(", ")} } ` +
        `to the gateway config (USD per 1M tokens; { input: 0, output: 0 } for a free local model)`,
    );
  }
}

export interface ProviderErrorFields {
  provider: string;
  deployment?: string;
  status?: number;
  retryable: boolean;
  retryAfterMs?: number;
  /** The provider's own error type or code (`insufficient_quota`, `overloaded_error`, ...). */
  type?: string;
  cause?: unknown;
}

/**
 * A provider call failed. Adapters throw this with `retryable` decided by
 * `isRetryableStatus` and the provider's error type, through the one mapping every adapter
 * shares (providers/shared/map-provider-error.ts).
 */
export class ProviderError extends GatewayError {
  readonly code = "provider_error" as const;
  override readonly name = "ProviderError";
  readonly provider: string;
  deployment: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly type: string | undefined;
  constructor(message: string, fields: ProviderErrorFields) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.provider = fields.provider;
    this.deployment = fields.deployment;
    this.status = fields.status;
    this.retryable = fields.retryable;
    this.retryAfterMs = fields.retryAfterMs;
    this.type = fields.type;
  }
}

export interface FailedAttempt {
  deployment: string;
  error: GatewayError;
}

/** Every deployment of the route and of its fallbacks failed or was unavailable. */
export class AllDeploymentsFailedError extends GatewayError {
  readonly code = "all_failed" as const;
  override readonly name = "AllDeploymentsFailedError";
  constructor(
    readonly attempts: readonly FailedAttempt[],
    message: string,
    /** When every deployment was cooling down: ms until the first one comes back. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export class TimeoutError extends GatewayError {
  readonly code = "timeout" as const;
  override readonly name = "TimeoutError";
  constructor(
    readonly timeoutMs: number,
    what = "Provider call",
  ) {
    super(`${what} timed out after ${timeoutMs} ms`);
  }
}

export class AbortError extends GatewayError {
  readonly code = "aborted" as const;
  override readonly name = "AbortError";
  constructor(message = "The call was aborted") {
    super(message);
  }
}

export class GatewayClosedError extends GatewayError {
  readonly code = "gateway_closed" as const;
  override readonly name = "GatewayClosedError";
  constructor() {
    super("The gateway is closed");
  }
}

/**
 * A shared state store (Redis) could not be reached and its `onError` policy for this concern
 * is `"closed"`: the call is refused rather than admitted unchecked. Distinct from
 * `RateLimitError`, whose `retryAfterMs` promises that a retry then succeeds; nothing here
 * says when the store returns, and operators alert on this code, not on ordinary limits.
 */
export class StoreUnavailableError extends GatewayError {
  readonly code = "store_unavailable" as const;
  override readonly name = "StoreUnavailableError";
  constructor(
    /** What the store could not check: RPM/TPM limits or budgets. */
    readonly concern: "limits" | "budgets",
    cause?: unknown,
  ) {
    super(
      `The shared state store is unavailable, so ${concern} cannot be checked and the call is refused (onError: "closed")`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/**
 * The one place that decides retryability by HTTP status: 408, 409, 429 and 5xx can succeed
 * on a later try; other 4xx say the request itself is wrong. Adapters refine it with the
 * provider's error type (a quota-exhausted 429 is not retryable).
 */
export function isRetryableStatus(status: number | undefined): boolean {
  if (status === undefined) return true; // no response: connection error or timeout
  return status === 408 || status === 409 || status === 429 || status >= 500;
}
