import { toIssues } from "../core/config-issues.js";
import { InvalidRequestError, type Issue } from "../core/errors.js";
import { keySchema, type BudgetConfig, type KeyConfig } from "../limits/limits-schema.js";
import { appendAudit, type AuditAction } from "./audit-log.js";
import { ControlPlaneUnavailableError, whileAvailable } from "./control-plane-errors.js";
import { hashSecret, newSecret, secretHint } from "./key-secret.js";
import type { SqlExecutor, SqlSession } from "./sql-executor.js";

/** A runtime virtual key as anyone may see it: its caps, never its secret. */
export interface RuntimeKey extends KeyConfig {
  name: string;
  /** The secret's first characters (`mg-AbCd…`), to tell keys apart. */
  secretHint: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateKeyInput extends KeyConfig {
  name: string;
}

/** Fields to change; `null` removes a cap, an absent field stays as it is. */
export interface KeyPatch {
  rpm?: number | null;
  tpm?: number | null;
  budget?: BudgetConfig | null;
  models?: string[] | null;
}

/** Who made a change, for the audit log (default: the control plane's `actor` option). */
export interface ChangeOptions {
  actor?: string;
}

/** A key created, updated (`key` is its new state) or revoked (`key` undefined). */
export interface KeyChange {
  name: string;
  key: RuntimeKey | undefined;
}

/** `controlPlane.keys`: virtual keys stored in the database, shared by every gateway on it. */
export interface RuntimeKeys {
  /** Creates a key; the secret is returned here once and stored only as a hash. */
  create(input: CreateKeyInput, options?: ChangeOptions): Promise<{ name: string; secret: string; key: RuntimeKey }>;
  update(name: string, patch: KeyPatch, options?: ChangeOptions): Promise<RuntimeKey>;
  /** Its calls are refused from then on, on every gateway (within a second). The name stays taken. */
  revoke(name: string, options?: ChangeOptions): Promise<void>;
  /** Active keys, from the database, sorted by name; never secrets. */
  list(): Promise<RuntimeKey[]>;
  /** The active key whose secret this is, from the local cache: O(1), no round trip. */
  verify(secret: string): RuntimeKey | undefined;
  /** The active key of that name, from the local cache. */
  get(name: string): RuntimeKey | undefined;
  /** Every active key in the local cache (what `verify` answers from), without a round trip. */
  cached(): RuntimeKey[];
  /** Told of every change seen (made here, or by another control plane on the database). */
  onChange(listener: (change: KeyChange) => void): () => void;
  /** Re-reads every key now (it also happens periodically and after a lost LISTEN connection). */
  refresh(): Promise<void>;
}

interface KeyRow {
  name: string;
  secret_hash: string;
  secret_hint: string;
  config: KeyConfig;
  created_at: Date | string;
  updated_at: Date | string;
  revoked_at: Date | string | null;
}

interface Cached {
  key: RuntimeKey;
  hash: string;
}

const NAME = /^[\x21-\x7e]{1,128}$/;
const SELECT = "SELECT name, secret_hash, secret_hint, config, created_at, updated_at, revoked_at";

export interface RuntimeKeysDeps {
  executor(): SqlExecutor | undefined;
  schema: string;
  channel: string;
  defaultActor: string;
}

/**
 * Keys in the database and a local cache of the active ones (by name and by secret hash).
 * Every change is one transaction: the row, an audit row and a NOTIFY, so each control plane
 * on the database re-reads the key once the change is committed.
 */
export class RuntimeKeyStore implements RuntimeKeys {
  private readonly byName = new Map<string, Cached>();
  private readonly byHash = new Map<string, RuntimeKey>();
  private readonly listeners = new Set<(change: KeyChange) => void>();
  /** When each recently revoked key was revoked, so a read older than that cannot bring it back. */
  private readonly revokedAt = new Map<string, number>();

  constructor(private readonly deps: RuntimeKeysDeps) {}

  async create(input: CreateKeyInput, options: ChangeOptions = {}) {
    const { name, ...rest } = input ?? ({} as CreateKeyInput);
    const config = validate(name, rest);
    const secret = newSecret();
    const row = await this.change(name, options, "key.create", async (tx) => {
      const [created] = await tx.query<KeyRow>(
        `INSERT INTO ${this.table} (name, secret_hash, secret_hint, config) VALUES ($1, $2, $3, $4::jsonb)
         ON CONFLICT (name) DO NOTHING RETURNING name, secret_hash, secret_hint, config, created_at, updated_at, revoked_at`,
        [name, hashSecret(secret), secretHint(secret), JSON.stringify(config)],
      );
      if (!created) throw invalid("name", `a key named '${name}' already exists (names of revoked keys stay taken)`);
      return { before: undefined, after: created };
    });
    return { name, secret, key: toKey(row) };
  }

  async update(name: string, patch: KeyPatch, options: ChangeOptions = {}) {
    validateName(name);
    const row = await this.change(name, options, undefined, async (tx) => {
      const before = await this.lockActive(tx, name);
      const config = validate(name, merge(before.config, patch ?? {}), "patch");
      const [after] = await tx.query<KeyRow>(
        `UPDATE ${this.table} SET config = $2::jsonb, updated_at = clock_timestamp() WHERE name = $1
         RETURNING name, secret_hash, secret_hint, config, created_at, updated_at, revoked_at`,
        [name, JSON.stringify(config)],
      );
      return { before, after: after! };
    });
    return toKey(row);
  }

  async revoke(name: string, options: ChangeOptions = {}) {
    validateName(name);
    await this.change(name, options, "key.revoke", async (tx) => {
      const before = await this.lockActive(tx, name);
      const [after] = await tx.query<KeyRow>(
        `UPDATE ${this.table} SET revoked_at = clock_timestamp(), updated_at = clock_timestamp() WHERE name = $1
         RETURNING name, secret_hash, secret_hint, config, created_at, updated_at, revoked_at`,
        [name],
      );
      return { before, after: after! };
    });
  }

  async list() {
    const rows = await whileAvailable("listing keys", () =>
      this.db("listing keys").query<KeyRow>(`${SELECT} FROM ${this.table} WHERE revoked_at IS NULL ORDER BY name`),
    );
    return rows.map(toKey);
  }

  verify(secret: string) {
    if (typeof secret !== "string" || secret.length === 0 || secret.length > 256) return undefined;
    return this.byHash.get(hashSecret(secret));
  }

  get(name: string) {
    return this.byName.get(name)?.key;
  }

  cached() {
    return [...this.byName.values()].map((entry) => entry.key);
  }

  get cachedCount(): number {
    return this.byName.size;
  }

  onChange(listener: (change: KeyChange) => void) {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async refresh() {
    const rows = await whileAvailable("reading keys", () => this.db("reading keys").query<KeyRow>(`${SELECT} FROM ${this.table} WHERE revoked_at IS NULL`));
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.name);
      this.apply(row.name, row);
    }
    for (const name of [...this.byName.keys()]) if (!seen.has(name)) this.apply(name, undefined);
  }

  /** Re-reads one key (a NOTIFY named it). */
  async refreshOne(name: string): Promise<void> {
    const [row] = await this.db("reading a key").query<KeyRow>(`${SELECT} FROM ${this.table} WHERE name = $1`, [name]);
    this.apply(name, row);
  }

  private get table(): string {
    return `"${this.deps.schema}".keys`;
  }

  private db(operation: string): SqlExecutor {
    const executor = this.deps.executor();
    if (!executor) throw new ControlPlaneUnavailableError(operation);
    return executor;
  }

  private async lockActive(tx: SqlSession, name: string): Promise<KeyRow> {
    const [row] = await tx.query<KeyRow>(`${SELECT} FROM ${this.table} WHERE name = $1 AND revoked_at IS NULL FOR UPDATE`, [name]);
    if (!row) throw invalid("name", `no active key named '${name}'`);
    return row;
  }

  /** Runs one change with its audit row and NOTIFY in a transaction, then updates the local cache. */
  private async change(
    name: string,
    options: ChangeOptions,
    action: AuditAction | undefined,
    work: (tx: SqlSession) => Promise<{ before: KeyRow | undefined; after: KeyRow }>,
  ): Promise<KeyRow> {
    const actor = typeof options?.actor === "string" && options.actor.length > 0 ? options.actor.slice(0, 200) : this.deps.defaultActor;
    const after = await whileAvailable("changing a key", () => this.db("changing a key").transaction(async (tx) => {
      const { before, after } = await work(tx);
      const chosen = action ?? (onlyBudgetChanged(before, after) ? "budget.update" : "key.update");
      await appendAudit(tx, this.deps.schema, { actor, action: chosen, key: name, before: before && auditView(before), after: auditView(after) });
      await tx.query("SELECT pg_notify($1, $2)", [this.deps.channel, name]);
      return after;
    }));
    // Read-your-writes here at once; the NOTIFY then finds nothing new.
    this.apply(name, after);
    return after;
  }

  /** Bounded: past 10,000 revocations the oldest are forgotten (a read that stale is long gone). */
  private rememberRevoked(name: string, at: number): void {
    this.revokedAt.delete(name);
    this.revokedAt.set(name, at);
    if (this.revokedAt.size > 10_000) this.revokedAt.delete(this.revokedAt.keys().next().value!);
  }

  /** Applies what a read or a change found: a live row, a revoked one, or none. */
  private apply(name: string, row: KeyRow | undefined): void {
    const cached = this.byName.get(name);
    if (row) {
      // Reads race each other (a NOTIFY's re-read, the periodic refresh, our own change): one that
      // started before a newer change landed must not roll the cache back or revive a revoked key.
      const at = new Date(row.updated_at).getTime();
      const known = cached ? cached.key.updatedAt.getTime() : this.revokedAt.get(name);
      if (known !== undefined && at < known) return;
      if (row.revoked_at !== null) {
        this.rememberRevoked(name, at);
        row = undefined;
      } else {
        this.revokedAt.delete(name);
      }
    }
    if (!row) {
      if (!cached) return;
      this.byName.delete(name);
      this.byHash.delete(cached.hash);
      this.tell({ name, key: undefined });
      return;
    }
    const key = toKey(row);
    // Same content: nothing changed. (Timestamps alone cannot tell: the driver keeps milliseconds,
    // and two changes can land within one.)
    if (cached && cached.hash === row.secret_hash && JSON.stringify(cached.key) === JSON.stringify(key)) return;
    if (cached) this.byHash.delete(cached.hash);
    this.byName.set(name, { key, hash: row.secret_hash });
    this.byHash.set(row.secret_hash, key);
    this.tell({ name, key });
  }

  private tell(change: KeyChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's bug must not stop the others or the cache.
      }
    }
  }
}

function toKey(row: KeyRow): RuntimeKey {
  const config = row.config ?? {};
  return {
    name: row.name,
    ...(config.rpm !== undefined ? { rpm: config.rpm } : {}),
    ...(config.tpm !== undefined ? { tpm: config.tpm } : {}),
    ...(config.budget !== undefined ? { budget: { ...config.budget } } : {}),
    ...(config.models !== undefined ? { models: [...config.models] } : {}),
    secretHint: row.secret_hint,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** What the audit log keeps of a key: its caps and hint, whether revoked; never the hash. */
function auditView(row: KeyRow): Record<string, unknown> {
  return { ...row.config, secretHint: row.secret_hint, ...(row.revoked_at !== null ? { revoked: true } : {}) };
}

function onlyBudgetChanged(before: KeyRow | undefined, after: KeyRow): boolean {
  if (!before) return false;
  const { budget: a, ...restBefore } = before.config;
  const { budget: b, ...restAfter } = after.config;
  return JSON.stringify(a) !== JSON.stringify(b) && JSON.stringify(sorted(restBefore)) === JSON.stringify(sorted(restAfter));
}

function sorted(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : 1)));
}

function merge(config: KeyConfig, patch: KeyPatch): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) delete out[field];
    else if (value !== undefined) out[field] = value;
  }
  return out;
}

function validateName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !NAME.test(name)) throw invalid("name", "expected 1 to 128 printable ASCII characters, no spaces");
}

function validate(name: unknown, config: unknown, prefix = "key"): KeyConfig {
  validateName(name);
  const parsed = keySchema.safeParse(config);
  if (!parsed.success) throw new InvalidRequestError(toIssues(parsed.error, [prefix]), "Invalid virtual key:");
  return parsed.data;
}

function invalid(path: string, message: string): InvalidRequestError {
  const issue: Issue = { path, message: message.length > 300 ? `${message.slice(0, 297)}...` : message };
  return new InvalidRequestError([issue], "Invalid virtual key:");
}
