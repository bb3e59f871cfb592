import { randomUUID } from "node:crypto";
import type { SpendRecord } from "../../src/index.js";

/** A spend record with sensible defaults, for ledger tests. */
export function spendRecord(fields: Partial<SpendRecord> = {}): SpendRecord {
  return {
    id: randomUUID(),
    time: Date.UTC(2030, 0, 15, 10, 30),
    key: "team-a",
    user: "u1",
    tags: [],
    model: "smart",
    route: "smart",
    deployment: "openai/gpt-4o",
    provider: "openai",
    inputTokens: 100,
    outputTokens: 10,
    cachedTokens: 0,
    costUsd: 0.001,
    savedUsd: 0,
    cache: "miss",
    estimated: false,
    ...fields,
  };
}
