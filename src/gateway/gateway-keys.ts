import { ConfigError, InvalidRequestError, type Issue } from "../core/errors.js";
import type { RouteTable } from "../core/route.js";
import { checkKeyModels } from "../config/check-key-models.js";
import type { PostgresControlPlane } from "../control-plane/postgres-control-plane.js";
import type { ChangeOptions, CreateKeyInput, KeyPatch, RuntimeKey } from "../control-plane/runtime-keys.js";
import type { KeyConfig } from "../limits/limits-schema.js";

/**
 * `gateway.keys`: runtime virtual keys, stored by the control plane and shared by every gateway
 * on its database. Without a control plane every method but `verify` throws a `ConfigError`.
 */
export interface GatewayKeys {
  /** True when the gateway has a control plane (runtime keys can be created and verified). */
  readonly available: boolean;
  /** Creates a key; the secret is returned here, once (only its hash is stored). */
  create(input: CreateKeyInput, options?: ChangeOptions): Promise<{ name: string; secret: string; key: RuntimeKey }>;
  /** Changes caps; `null` removes one. RPM/TPM, budget and models apply from the next call, on every gateway. */
  update(name: string, patch: KeyPatch, options?: ChangeOptions): Promise<RuntimeKey>;
  /** Its calls are refused from then on, on every gateway on the database (within a second). */
  revoke(name: string, options?: ChangeOptions): Promise<void>;
  /** Active runtime keys, sorted by name; never secrets. Static keys from config are not listed. */
  list(): Promise<RuntimeKey[]>;
  /**
   * The runtime key name a secret belongs to (active keys only), or undefined: a hash lookup
   * in the local cache, no round trip (while the control plane starts, it waits for the keys,
   * bounded by `controlPlaneTimeoutMs`).
   */
  verify(secret: string): Promise<string | undefined>;
}

/** Wraps the control plane's keys with the gateway's checks: no static names, only known models. */
/** Key changes wait this long for a control plane still starting (an embedded database takes seconds). */
const ADMIN_WAIT_MS = 30_000;

export function gatewayKeys(
  controlPlane: PostgresControlPlane | undefined,
  staticKeys: Readonly<Record<string, KeyConfig>>,
  table: RouteTable,
  /** Resolves once the runtime keys are loaded, or when the calls' bounded wait is over. */
  keysLoaded: () => Promise<void>,
): GatewayKeys {
  if (!controlPlane) {
    const needed = (): never => {
      throw new ConfigError([
        {
          path: "controlPlane",
          message: "gateway.keys needs a control plane: createGateway({ ..., controlPlane: postgresControlPlane() }) from 'modelgate/postgres'",
        },
      ]);
    };
    return { available: false, create: async () => needed(), update: async () => needed(), revoke: async () => needed(), list: async () => needed(), verify: async () => undefined };
  }
  const keys = controlPlane.keys;
  // A change made right after createGateway waits for the start; a database that is down fails typed.
  const started = (): Promise<void> => controlPlane.ready({ timeoutMs: ADMIN_WAIT_MS });

  const refuseStatic = (name: unknown): void => {
    if (typeof name === "string" && Object.hasOwn(staticKeys, name)) {
      throw new InvalidRequestError([{ path: "name", message: `'${name.slice(0, 128)}' is a key in the gateway config; runtime keys need other names` }], "Invalid virtual key:");
    }
  };
  // The same check as config keys get (config/check-key-models.ts), its paths renamed to the input's.
  const checkModels = (models: readonly string[] | null | undefined, prefix: string): void => {
    if (!Array.isArray(models)) return;
    const issues: Issue[] = [];
    checkKeyModels({ key: { models: models.filter((model): model is string => typeof model === "string") } }, table, issues);
    if (issues.length > 0) {
      throw new InvalidRequestError(
        issues.map((issue) => ({ ...issue, path: `${prefix}${issue.path.slice("keys.key.".length)}` })),
        "Invalid virtual key:",
      );
    }
  };

  return {
    available: true,
    async create(input, options) {
      refuseStatic(input?.name);
      checkModels(input?.models, "");
      await started();
      return keys.create(input, options);
    },
    async update(name, patch, options) {
      refuseStatic(name);
      checkModels(patch?.models, "patch.");
      await started();
      return keys.update(name, patch, options);
    },
    async revoke(name, options) {
      refuseStatic(name);
      await started();
      return keys.revoke(name, options);
    },
    async list() {
      await started();
      return keys.list();
    },
    async verify(secret) {
      const found = keys.verify(secret);
      if (found) return found.name;
      await keysLoaded();
      return keys.verify(secret)?.name;
    },
  };
}
