import { GatewayError } from "../errors.js";

/** The control plane's database could not be reached (or answered too slowly) for an operation that needs it now. */
export class ControlPlaneUnavailableError extends GatewayError {
  readonly code = "store_unavailable" as const;
  override readonly name = "ControlPlaneUnavailableError";
  constructor(operation: string, cause?: unknown) {
    super(`The control plane database is unavailable: ${operation} could not be done`, cause === undefined ? undefined : { cause });
  }
}
