/**
 * Thrown by attempt middleware when a deployment cannot take this call now (e.g. its own
 * RPM/TPM is spent). The router moves to the next candidate without counting a failure:
 * a deployment out of capacity is skipped, not failed.
 */
export class DeploymentSkip extends Error {
  override readonly name = "DeploymentSkip";
  constructor(
    readonly reason: "capacity" | "context-window",
    /** When the deployment could take it, in ms from now (Infinity: never, for this request). */
    readonly retryAfterMs: number,
    detail: string,
  ) {
    super(detail);
  }
}
