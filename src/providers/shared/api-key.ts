import { ProviderError } from "../../core/errors.js";

/**
 * The API key from the adapter's options, else from the first environment variable set.
 * Called on first use, never at construction, so a gateway can be built before secrets load
 * (tests, a secret manager) and the variable may be set afterwards.
 */
export function readApiKey(explicit: string | undefined, variables: readonly string[]): string | undefined {
  if (explicit) return explicit;
  for (const variable of variables) {
    const value = process.env[variable];
    if (value) return value;
  }
  return undefined;
}

/**
 * The one shape of a missing key, for every adapter: a non-retryable `ProviderError`, status
 * 401 (what the provider would have answered), type `missing_api_key`, naming the option and
 * the variables to set. Never thrown by a factory: each call fails with it instead.
 */
export function missingApiKey(provider: string, label: string, factory: string, variables: readonly string[]): ProviderError {
  const where = variables.length > 1 ? `${variables[0]} (or ${variables.slice(1).join(", ")})` : variables[0];
  return new ProviderError(`${label} API key missing: pass { apiKey } to ${factory}() or set ${where}`, {
    provider,
    status: 401,
    retryable: false,
    type: "missing_api_key",
  });
}
