import { describe, expect, it } from "vitest";
import { memoryStore, type GatewayConfig, type StateStore } from "../src/index.js";
import { mockProvider } from "../src/testing.js";
import { checkSharedState } from "../src/server/cluster/shared-state-check.js";

/** What `--workers N` refuses or only reports, judged from the config alone. */
const base: GatewayConfig = { providers: { p: mockProvider() }, models: { fast: "p/m" } };
const sharedStore = { ...memoryStore(), scope: "shared" } as StateStore;

describe("checkSharedState", () => {
  it("refuses every kind of counted limit on a process-local store, naming its path", () => {
    const limited: GatewayConfig = {
      ...base,
      models: { fast: { deployments: [{ provider: "p", model: "m", rpm: 10 }] } },
      keys: { open: {}, capped: { tpm: 1000 } },
      users: { budget: { usd: 1, period: "day" } },
    };
    const [refusal, ...rest] = checkSharedState(limited, 3).refusals;
    expect(rest).toHaveLength(0);
    expect(refusal).toContain("keys.capped, users, models.fast.deployments would be counted by each of the 3 workers");
    expect(refusal).not.toContain("keys.open");
    expect(checkSharedState({ ...limited, store: memoryStore() }, 2).refusals).toHaveLength(1);
    expect(checkSharedState({ ...limited, store: sharedStore }, 2).refusals).toHaveLength(0);
  });

  it("refuses limits on a store of your own that does not say it is shared", () => {
    // A custom store (one written before `scope` existed, or an in-process one) is not taken as shared.
    const { scope: _scope, ...unsaid } = memoryStore();
    const limited: GatewayConfig = { ...base, keys: { capped: { budget: { usd: 1, period: "day" } } }, store: unsaid as StateStore };
    const [refusal, ...rest] = checkSharedState(limited, 2).refusals;
    expect(rest).toHaveLength(0);
    expect(refusal).toContain("keys.capped");
    expect(refusal).toContain('scope: "shared"');
  });

  it("refuses an embedded control plane, which one process alone may open", () => {
    const embedded = { kind: "pglite", keys: { get: () => undefined }, spend: { append: async () => {} } } as unknown as GatewayConfig["controlPlane"];
    const { refusals } = checkSharedState({ ...base, store: sharedStore, controlPlane: embedded }, 2);
    expect(refusals).toEqual([expect.stringContaining("controlPlane: the embedded database (PGlite)")]);
    const server = { ...embedded, kind: "postgres" } as GatewayConfig["controlPlane"];
    expect(checkSharedState({ ...base, store: sharedStore, controlPlane: server }, 2).refusals).toHaveLength(0);
  });

  it("lets a config with nothing counted through, saying what each worker keeps to itself", () => {
    const report = checkSharedState({ ...base, cache: { exact: {} } }, 2);
    expect(report.refusals).toHaveLength(0);
    const anomalies = "spend anomaly detection (on its share of the traffic)";
    expect(report.perWorker).toEqual(["answer cache", "spend reports", "deployment health (cooldowns)", anomalies]);
    expect(checkSharedState({ ...base, store: sharedStore }, 2).perWorker).toEqual(["spend reports", anomalies]);
  });
});
