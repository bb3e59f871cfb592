import { InvalidRequestError } from "../core/errors.js";
import type { PostgresControlPlane } from "../control-plane/postgres-control-plane.js";
import type { KeyConfig } from "../limits/limits-schema.js";

/**
 * Which `options.key` a call may carry: any when no keys are configured; else a static key from
 * the config or an active runtime key of the control plane. While the control plane loads its
 * keys, the first calls wait for them, bounded by `controlPlaneTimeoutMs` from creation.
 */
export class KeyAdmission {
  private keysLoaded = false;
  private readonly waitUntil: number;

  constructor(
    private readonly controlPlane: PostgresControlPlane | undefined,
    private readonly staticKeys: Readonly<Record<string, KeyConfig>> | undefined,
    waitMs: number,
  ) {
    this.waitUntil = Date.now() + waitMs;
    controlPlane?.ready().then(
      () => {
        this.keysLoaded = true;
      },
      () => undefined,
    );
  }

  /** True when `key` may be used now, without waiting (the hot path: no await). */
  admits(key: string): boolean {
    const { staticKeys, controlPlane } = this;
    if (!staticKeys && !controlPlane) return true;
    if (staticKeys && Object.hasOwn(staticKeys, key)) return true;
    return controlPlane?.keys.get(key) !== undefined;
  }

  /**
   * For a key `admits` refused: waits (bounded) for the runtime keys to be loaded, then throws
   * unless the key is now known. A revoked key stays refused.
   */
  async admitOnceLoaded(key: string): Promise<void> {
    const controlPlane = this.controlPlane;
    if (!controlPlane) throw unknownKey();
    await this.waitForKeys();
    if (!controlPlane.keys.get(key)) throw unknownKey();
  }

  /** Until the control plane loaded its keys, bounded by `controlPlaneTimeoutMs` from creation. */
  async waitForKeys(): Promise<void> {
    const waitMs = this.waitUntil - Date.now();
    if (this.controlPlane && !this.keysLoaded && waitMs > 0) await this.controlPlane.ready({ timeoutMs: waitMs }).catch(() => undefined);
  }
}

function unknownKey(): InvalidRequestError {
  return new InvalidRequestError(
    [{ path: "options.key", message: "is not a configured key nor an active runtime key (see `keys` in the gateway config, and gateway.keys)" }],
    "Invalid chat options:",
  );
}
