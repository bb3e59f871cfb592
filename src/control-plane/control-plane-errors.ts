import { GatewayError } from "../core/errors.js";

/** The control plane's database could not be reached (or answered too slowly) for an operation that needs it now. */
export class ControlPlaneUnavailableError extends GatewayError {
  readonly code = "store_unavailable" as const;
  override readonly name = "ControlPlaneUnavailableError";
  constructor(operation: string, cause?: unknown) {
    super(`The control plane database is unavailable: ${operation} could not be done`, cause === undefined ? undefined : { cause });
  }
}

/**
 * Runs a database operation; a driver error (connection refused, timeout, server restarting)
 * becomes a `ControlPlaneUnavailableError` with the original as `cause`, while modelgate's own
 * errors (bad input) pass through.
 */
export async function whileAvailable<T>(operation: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new ControlPlaneUnavailableError(operation, error);
  }
}
