export { postgresControlPlane } from "./control-plane/postgres-control-plane.js";
export type {
  PostgresControlPlane,
  ControlPlaneState,
  ControlPlaneStats,
  SpentInPeriodQuery,
  SpentByQuery,
} from "./control-plane/postgres-control-plane.js";
export type { PostgresControlPlaneOptions } from "./control-plane/control-plane-options.js";
export type { PostgresSpendStore, LedgerStats } from "./control-plane/postgres-spend-store.js";
export type { BucketedSpendQuery, BucketedSpendReportRow, SpendBucket, KeyUserSpend } from "./control-plane/spend-sql.js";
export type { ExportSpendOptions } from "./control-plane/spend-export.js";
export type { RuntimeKeys, RuntimeKey, CreateKeyInput, KeyPatch, ChangeOptions, KeyChange } from "./control-plane/runtime-keys.js";
export type { AuditEntry, AuditQuery, AuditInput, AuditAction } from "./control-plane/audit-log.js";
export type { ControlPlaneEventMap, ControlPlaneEventName, SpendOverflowEvent, ControlPlaneStateEvent } from "./control-plane/control-plane-events.js";
export { ControlPlaneUnavailableError } from "./control-plane/control-plane-errors.js";
export { MIGRATIONS } from "./control-plane/migrations.js";
export type { Migration } from "./control-plane/migrations.js";
