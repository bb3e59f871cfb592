/**
 * Section 1 (pure overhead) and 5 (limits on vs off): `gateway.chat()` over `mockProvider`
 * (no latency) against `adapter.chat()` on the same mock, a 2 KB body, a new prompt every
 * call (so a cache, when on, always misses and stores).
 */
import type { Gateway } from "../src/index.js";
import type { Modelgate } from "./modelgate.js";
import type { AdapterContext } from "../src/core/provider-adapter.js";
import { body2k, REPLY } from "./fixtures.js";
import { baseConfig, BENCH_MODEL, BENCH_ROUTE, CALL_OPTIONS, probeFeatures, withFeatures, type Feature } from "./features.js";
import { measureInterleaved, summarize, timedRow, type Candidate, type Row, type Sample } from "./stats.js";

export interface OverheadResult {
  rows: Row[];
  limitRows: Row[];
  /** Exact-hit rows measured here (2 KB body, the bundle), when the cache is on. */
  cacheRows: Row[];
  exactHitP50?: number;
  /** Features switched on, and the ones this build does not have (with why). */
  on: string[];
  off: { name: string; reason: string }[];
  /** Features the config accepts that did not act in the probe (not wired yet). */
  inactive: string[];
  /** Added µs, all middleware on, vs the adapter direct. */
  addedP50: number;
  addedP99: number;
  /** Added µs p50 to the first chunk of a stream, all on, in the hot loop. */
  streamAddedP50: number;
  /** Added µs p50 all on, with 1 ms idle before each call (cold caches). */
  coldAddedP50: number;
  /** p50 µs that TPM limits add over RPM + budget limits (the prompt token count). */
  tpmCostP50?: number;
  /** Added µs by the core alone (no optional section). */
  coreAddedP50: number;
  /** Per feature: added p50 µs over core. */
  featureCost: { name: string; p50: number; p99: number }[];
}

export async function runOverhead(modelgate: Modelgate, quick: boolean): Promise<OverheadResult> {
  const { createGateway, mockProvider } = modelgate;
  const section = "1 overhead";
  const iterations = quick ? 3_000 : 20_000;
  const warmup = quick ? 500 : 3_000;
  const mock = mockProvider({ reply: REPLY, latencyMs: 0 });
  const providers = { mock };
  const base = baseConfig(providers);
  let probeCount = 0;
  const probe = await probeFeatures(modelgate, base, () => body2k(BENCH_ROUTE, -1_000_000 - probeCount++));

  const gateways: { name: string; gateway: Gateway; features: Feature[] }[] = [
    { name: "core", gateway: createGateway(base), features: [] },
  ];
  if (probe.on.length > 1) {
    for (const feature of probe.on) {
      gateways.push({ name: `+${feature.name}`, gateway: createGateway(withFeatures(base, [feature])), features: [feature] });
    }
  }
  const limits = probe.on.find((feature) => feature.name === "limits");
  if (limits) {
    // TPM is what needs a prompt token count (a tokenizer, for OpenAI models): show it apart.
    const noTpm = withoutTpm(limits);
    gateways.push({ name: "+limits-no-tpm", gateway: createGateway(withFeatures(base, [noTpm])), features: [noTpm] });
  }
  if (probe.on.length > 0) {
    gateways.push({ name: "all", gateway: createGateway(withFeatures(base, probe.on)), features: probe.on });
  }

  // The mock records every request; clear it now and then (outside the clock) so the record
  // does not grow to the whole run and tax the GC of whichever candidate runs next.
  let made = 0;
  const next = (): ReturnType<typeof body2k> => {
    if (++made % 1_000 === 0) mock.reset();
    return body2k(BENCH_ROUTE, made);
  };
  const adapterContext: AdapterContext = { model: BENCH_MODEL, signal: new AbortController().signal, timeoutMs: 60_000 };
  const candidates: Record<string, Candidate> = {
    direct: { prepare: next, run: (body) => mock.chat(body, adapterContext) },
  };
  for (const { name, gateway } of gateways) {
    candidates[name] = { prepare: next, run: (body) => gateway.chat(body, CALL_OPTIONS) };
  }

  // An exact hit on the all-on gateway: the same 2 KB body every call, stored before timing.
  const allGateway = gateways[gateways.length - 1]!;
  const hasCache = allGateway.features.some((feature) => feature.name === "cache");
  const hitBody = body2k(BENCH_ROUTE, -42);
  if (hasCache) {
    await allGateway.gateway.chat(hitBody, CALL_OPTIONS);
    candidates.hit = () => allGateway.gateway.chat(hitBody, CALL_OPTIONS);
  }

  // Streams: time to the first chunk the caller reads (then drained), mock adapter vs gateway.
  const streamIterations = Math.ceil(iterations / 4);
  candidates.streamDirect = {
    prepare: next,
    selfTimed: true,
    iterations: streamIterations,
    run: (body) => firstChunkUs(async () => mock.stream(body, adapterContext)),
  };
  candidates.streamGateway = {
    prepare: next,
    selfTimed: true,
    iterations: streamIterations,
    run: (body) => firstChunkUs(() => allGateway.gateway.chat({ ...body, stream: true }, CALL_OPTIONS)),
  };

  const runs = await measureInterleaved(candidates, { iterations, warmup, warmupMs: quick ? 1_000 : 2_000, block: 500, maxMs: quick ? 8_000 : 45_000 });

  // The same, all on, with 1 ms idle before each call: a hot loop keeps code, data and branch
  // predictors in the CPU's caches; a real app's calls come between other work.
  const coldIterations = quick ? 200 : 1_500;
  const cold = await measureInterleaved(
    {
      direct: { prepare: next, run: (body) => mock.chat(body, adapterContext), pauseMs: 1 },
      gateway: { prepare: next, run: (body) => allGateway.gateway.chat(body, CALL_OPTIONS), pauseMs: 1 },
    },
    { iterations: coldIterations, warmup: 50, block: 100, maxMs: quick ? 3_000 : 15_000 },
  );
  for (const { gateway } of gateways) await gateway.close();

  const direct = summarize(runs.direct!);
  const rows: Row[] = [
    timedRow(section, "adapter.chat() direct, mock (baseline)", runs.direct!, {
      value: direct.perSecond,
      ratio: 1,
      note: "value = calls/s, 1 core, sequential",
    }),
  ];
  const added = (run: Sample): { p50: number; p99: number } => {
    const summary = summarize(run);
    return { p50: summary.p50 - direct.p50, p99: summary.p99 - direct.p99 };
  };
  const core = summarize(runs.core!);
  const featureCost: OverheadResult["featureCost"] = [];
  const streamDirect = summarize(runs.streamDirect!);
  const streamGateway = summarize(runs.streamGateway!);
  const streamRows: Row[] = [
    timedRow(section, "stream: first chunk, adapter.stream() direct, mock (baseline)", runs.streamDirect!, { ratio: 1 }),
    timedRow(section, `stream: first chunk, gateway.chat({ stream: true }) ${allGateway.name === "core" ? "core" : "all on"}`, runs.streamGateway!, {
      ratio: streamGateway.p50 / streamDirect.p50,
      note: `added vs direct: p50 ${fmt(streamGateway.p50 - streamDirect.p50)} µs, p99 ${fmt(streamGateway.p99 - streamDirect.p99)} µs (CPU/call includes draining the stream)`,
    }),
  ];
  const cacheRows: Row[] = [];
  let exactHitP50: number | undefined;
  if (runs.hit) {
    const hit = summarize(runs.hit);
    exactHitP50 = hit.p50;
    cacheRows.push(
      timedRow("4 cache", "gateway.chat() exact hit, same 2 KB body, all on (bundle)", runs.hit, {
        value: hit.perSecond,
        ratio: hit.p50 / direct.p50,
        note: `vs adapter direct on the mock: ${fmt(hit.p50 - direct.p50)} µs p50; value = calls/s`,
      }),
    );
  }
  for (const { name, features } of gateways) {
    const run = runs[name]!;
    const summary = summarize(run);
    const extra = added(run);
    const label =
      name === "core"
        ? "gateway.chat() core only (validate, route, forward)"
        : name === "all"
          ? `gateway.chat() all on: ${features.map((feature) => feature.name).join(", ")}${features.some((feature) => feature.name === "cache") ? " (miss)" : ""}`
          : name === "+limits-no-tpm"
            ? "gateway.chat() core +limits, RPM + budget only (no TPM)"
            : `gateway.chat() core ${name}`;
    let note = `added vs direct: p50 ${fmt(extra.p50)} µs, p99 ${fmt(extra.p99)} µs`;
    const inactive = features.filter((feature) => feature.inactive);
    if (inactive.length) note = `${inactive.map((feature) => `${feature.name} ${feature.inactive}`).join("; ")}; ${note}`;
    if (name !== "core") {
      const overCore = { p50: summary.p50 - core.p50, p99: summary.p99 - core.p99 };
      note += `; vs core: p50 ${fmt(overCore.p50)} µs`;
      if (name !== "all" && name !== "+limits-no-tpm") featureCost.push({ name: name.slice(1), ...overCore });
    }
    rows.push(timedRow(section, label, run, { value: summary.perSecond, ratio: summary.p50 / direct.p50, note }));
  }
  rows.push(...streamRows);
  const coldDirect = summarize(cold.direct!);
  const coldGateway = summarize(cold.gateway!);
  rows.push(
    timedRow(section, "adapter.chat() direct, 1 ms idle before each call (cold baseline)", cold.direct!, { ratio: 1 }),
    timedRow(section, `gateway.chat() ${allGateway.name === "core" ? "core" : "all on"}, 1 ms idle before each call (cold)`, cold.gateway!, {
      ratio: coldGateway.p50 / coldDirect.p50,
      note: `added vs cold direct: p50 ${fmt(coldGateway.p50 - coldDirect.p50)} µs, p99 ${fmt(coldGateway.p99 - coldDirect.p99)} µs (caches cooled: nearer what an app sees)`,
    }),
  );
  if (probe.on.length === 1) featureCost.push({ name: probe.on[0]!.name, p50: summarize(runs.all!).p50 - core.p50, p99: summarize(runs.all!).p99 - core.p99 });

  const limitRows: Row[] = [];
  const limitsRun = runs["+limits"] ?? (probe.on.length === 1 && probe.on[0]!.name === "limits" ? runs.all : undefined);
  let tpmCostP50: number | undefined;
  if (limitsRun) {
    const limits = summarize(limitsRun);
    limitRows.push(
      timedRow("5 limits", "keys + users RPM/TPM/budget on (mock, 2 KB, gpt-4o-mini)", limitsRun, {
        value: limits.perSecond,
        ratio: limits.p50 / core.p50,
        note: `ratio = p50 vs the same gateway with limits off (core, p50 ${core.p50.toFixed(1)} µs): ${fmt(limits.p50 - core.p50)} µs p50, ${fmt(limits.p99 - core.p99)} µs p99`,
      }),
    );
    const noTpmRun = runs["+limits-no-tpm"];
    if (noTpmRun) {
      const noTpm = summarize(noTpmRun);
      tpmCostP50 = limits.p50 - noTpm.p50;
      limitRows.push(
        timedRow("5 limits", "keys + users RPM/budget on, no TPM", noTpmRun, {
          value: noTpm.perSecond,
          ratio: noTpm.p50 / core.p50,
          note: `vs limits off: ${fmt(noTpm.p50 - core.p50)} µs p50; so TPM (prompt token count) costs ${fmt(tpmCostP50)} µs p50`,
        }),
      );
    }
  }

  const all = runs.all ?? runs.core!;
  const allAdded = added(all);
  return {
    rows,
    limitRows,
    cacheRows,
    exactHitP50,
    on: probe.on.map((feature) => feature.name),
    off: probe.off,
    inactive: probe.on.filter((feature) => feature.inactive).map((feature) => feature.name),
    addedP50: allAdded.p50,
    coldAddedP50: coldGateway.p50 - coldDirect.p50,
    streamAddedP50: streamGateway.p50 - streamDirect.p50,
    tpmCostP50,
    addedP99: allAdded.p99,
    coreAddedP50: core.p50 - direct.p50,
    featureCost,
  };
}

/** µs from asking for a stream to its first chunk; the stream is then drained. */
async function firstChunkUs(open: () => Promise<AsyncIterable<unknown>>): Promise<number> {
  const started = performance.now();
  const stream = await open();
  let first = -1;
  for await (const _chunk of stream) {
    if (first < 0) first = (performance.now() - started) * 1000;
  }
  return first;
}

function withoutTpm(feature: Feature): Feature {
  const strip = (value: unknown): unknown => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== "tpm").map(([key, inner]) => [key, strip(inner)]));
  };
  return { ...feature, name: "limits-no-tpm", config: strip(feature.config) as Record<string, unknown> };
}

function fmt(value: number): string {
  return (value >= 0 ? "+" : "") + value.toFixed(value >= 100 || value <= -100 ? 0 : 1);
}
