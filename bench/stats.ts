/**
 * Timing and reporting for the bench: a hand-rolled loop (one `performance.now()` pair per
 * iteration, warm-up first, sorted samples), percentiles and the one table it prints.
 *
 * Why hand-rolled rather than tinybench: the calls measured here take 1-100 µs and are async;
 * a per-iteration `performance.now()` pair costs ~0.1 µs and is the same for the baseline and
 * the measured call, so differences of p50 and p99 are honest. It also lets the bench
 * interleave the baseline and the measured call in small blocks, so a CPU-frequency or
 * neighbour-noise drift on a shared 2-core box hits both alike.
 */

/** Durations of a run, in microseconds, sorted ascending. */
export interface Sample {
  /** Sorted durations in µs. */
  readonly sorted: Float64Array;
  /** Sum of durations in µs (for calls per second, sequential). */
  readonly totalUs: number;
  /**
   * CPU time (user + system) of this process per call, in µs, when measured: unlike wall
   * time, it barely moves when other processes compete for the cores.
   */
  readonly cpuPerCallUs?: number;
}

export interface Summary {
  n: number;
  p25: number;
  p50: number;
  p75: number;
  p99: number;
  mean: number;
  stdev: number;
  /** Sequential calls per second on one core: n / total time. */
  perSecond: number;
}

export function sample(durationsUs: Float64Array | number[], cpuPerCallUs?: number): Sample {
  const sorted = Float64Array.from(durationsUs).sort();
  let total = 0;
  for (const value of sorted) total += value;
  return cpuPerCallUs === undefined ? { sorted, totalUs: total } : { sorted, totalUs: total, cpuPerCallUs };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(run: Sample): Summary {
  const { sorted } = run;
  const n = sorted.length;
  const mean = n ? run.totalUs / n : Number.NaN;
  let squares = 0;
  for (const value of sorted) squares += (value - mean) ** 2;
  return {
    n,
    p25: percentile(sorted, 25),
    p50: percentile(sorted, 50),
    p75: percentile(sorted, 75),
    p99: percentile(sorted, 99),
    mean,
    stdev: n > 1 ? Math.sqrt(squares / (n - 1)) : 0,
    perSecond: run.totalUs > 0 ? (n / run.totalUs) * 1e6 : Number.NaN,
  };
}

export type AsyncCall = () => Promise<unknown>;

/**
 * A measured call. With `prepare`, its input (a fresh request body, say) is built before the
 * clock starts, so only `run` is timed.
 */
export type Candidate =
  | AsyncCall
  | {
      prepare?: (index: number) => unknown;
      run: (input: any) => Promise<unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any
      /** `run` resolves to its own figure in µs (e.g. time to first chunk) instead of being timed whole. */
      selfTimed?: boolean;
      /** Measured iterations for this candidate, if fewer than the run's (a slow path). */
      iterations?: number;
      /**
       * Idle ms before each call, off the clock: the CPU caches and branch predictors cool
       * down, as between the calls of a real app, instead of a hot loop's best case.
       */
      pauseMs?: number;
    };

interface Prepared {
  prepare: (index: number) => unknown;
  run: (input: unknown) => Promise<unknown>;
  selfTimed: boolean;
  iterations: number;
  pauseMs: number;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * Lets the event loop turn. A loop of calls that never wait on I/O runs on microtasks alone,
 * so work a gateway starts in the background (a dynamic import, a timer) would never land
 * while it is measured; in an app, the loop turns between calls.
 */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface MeasureOptions {
  /** Measured iterations per candidate. */
  iterations: number;
  /** Unmeasured iterations per candidate, first. */
  warmup: number;
  /**
   * Least time the warm-up lasts, in ms (repeating rounds of it): long enough for the JIT, and
   * for work a gateway starts in the background (e.g. loading a tokenizer) to be done.
   */
  warmupMs?: number;
  /** Iterations per block when interleaving candidates (default 250). */
  block?: number;
  /** Wall-clock cap for the measured part, in ms: stops early (fewer samples) past it. */
  maxMs?: number;
}

/**
 * Runs every candidate `iterations` times, interleaved in blocks (A×block, B×block, then
 * B×block, A×block, ...), timing each call on its own. Returns sorted samples per candidate.
 * A candidate that throws ends the run with that error: a benchmark of failures is no benchmark.
 */
export async function measureInterleaved<Name extends string>(
  candidates: Record<Name, Candidate>,
  options: MeasureOptions,
): Promise<Record<Name, Sample>> {
  const names = Object.keys(candidates) as Name[];
  const block = Math.max(1, options.block ?? 250);
  const prepared = new Map<Name, Prepared>(
    names.map((name) => {
      const candidate = candidates[name];
      const entry: Prepared =
        typeof candidate === "function"
          ? { prepare: () => undefined, run: candidate, selfTimed: false, iterations: options.iterations, pauseMs: 0 }
          : {
              prepare: candidate.prepare ?? (() => undefined),
              run: candidate.run,
              selfTimed: candidate.selfTimed ?? false,
              iterations: Math.min(options.iterations, candidate.iterations ?? options.iterations),
              pauseMs: candidate.pauseMs ?? 0,
            };
      return [name, entry];
    }),
  );
  const warmupUntil = performance.now() + (options.warmupMs ?? 0);
  for (let pass = 0; pass === 0 || (performance.now() < warmupUntil && pass < 1_000); pass++) {
    for (const name of names) {
      const { prepare, run, iterations } = prepared.get(name)!;
      const warmup = Math.ceil((options.warmup * iterations) / options.iterations);
      for (let index = 0; index < warmup; index++) {
        await run(prepare(-1 - index));
        if (index % 50 === 49) await turn();
      }
    }
    await turn();
  }
  const durations = new Map<Name, Float64Array>(names.map((name) => [name, new Float64Array(prepared.get(name)!.iterations)]));
  const counts = new Map<Name, number>(names.map((name) => [name, 0]));
  const cpu = new Map<Name, number>(names.map((name) => [name, 0]));
  const deadline = performance.now() + (options.maxMs ?? Number.POSITIVE_INFINITY);
  const rounds = Math.ceil(options.iterations / block);
  outer: for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const { prepare, run, selfTimed, iterations, pauseMs } = prepared.get(name)!;
      const target = durations.get(name)!;
      let count = counts.get(name)!;
      // Slow candidates run proportionally fewer per block, so all finish in the same round.
      const end = Math.min(iterations, Math.ceil(((round + 1) * iterations) / rounds));
      // CPU time per block (cpuUsage() costs ~1 µs, too much to take around µs-scale calls),
      // or per call when calls are paused, so the idle pauses do not count.
      let cpuUsed = 0;
      const blockCpu = pauseMs > 0 ? undefined : process.cpuUsage();
      for (; count < end; count++) {
        if (pauseMs > 0) await pause(pauseMs);
        const input = prepare(count);
        const callCpu = pauseMs > 0 ? process.cpuUsage() : undefined;
        const started = performance.now();
        const result = await run(input);
        target[count] = selfTimed ? (result as number) : (performance.now() - started) * 1000;
        if (callCpu) {
          const used = process.cpuUsage(callCpu);
          cpuUsed += used.user + used.system;
        }
      }
      if (blockCpu) {
        const used = process.cpuUsage(blockCpu);
        cpuUsed += used.user + used.system;
      }
      cpu.set(name, cpu.get(name)! + cpuUsed);
      counts.set(name, count);
      await turn();
      if (performance.now() > deadline) break outer;
    }
  }
  const result = {} as Record<Name, Sample>;
  for (const name of names) {
    const count = counts.get(name)!;
    result[name] = sample(durations.get(name)!.subarray(0, count), count ? cpu.get(name)! / count : undefined);
  }
  return result;
}

/** One line of the table. `ratio` is against the baseline named in `baseline`. */
export interface Row {
  section: string;
  name: string;
  /** Measured iterations (or entries, for memory rows). */
  iterations: number | string;
  /** e.g. "µs", "ms", "bytes", "MB". */
  unit: string;
  p50?: number;
  p99?: number;
  /** Spread: IQR (p75 - p25) of the same samples. */
  iqr?: number;
  stdev?: number;
  /** A single figure where percentiles do not apply (memory, calls/s). */
  value?: number;
  /** CPU µs (user + system, this process) per call: robust to other load on the box. */
  cpu?: number;
  /** A ratio against a baseline measured in the same run, e.g. 1.02 (p50). */
  ratio?: number;
  /** Free text: what the ratio is against, the added µs, why a row is missing. */
  note?: string;
}

export function timedRow(
  section: string,
  name: string,
  run: Sample,
  extra: Partial<Row> = {},
  unit: "µs" | "ms" = "µs",
): Row {
  const summary = summarize(run);
  const scale = unit === "ms" ? 1 / 1000 : 1;
  return {
    section,
    name,
    iterations: summary.n,
    unit,
    p50: summary.p50 * scale,
    p99: summary.p99 * scale,
    iqr: (summary.p75 - summary.p25) * scale,
    stdev: summary.stdev * scale,
    ...(run.cpuPerCallUs === undefined ? {} : { cpu: run.cpuPerCallUs }),
    ...extra,
  };
}

/** A row that says why a measurement is missing. */
export function missingRow(section: string, name: string, reason: string): Row {
  return { section, name, iterations: "-", unit: "", note: reason };
}

export function format(value: number | undefined, digits?: number): string {
  if (value === undefined || Number.isNaN(value)) return "-";
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const places = digits ?? (abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 1 : 2);
  return value.toLocaleString("en-US", { minimumFractionDigits: places, maximumFractionDigits: places });
}

const HEADERS = ["section", "measurement", "iter", "unit", "p50", "p99", "IQR", "stdev", "CPU µs/call", "value", "ratio", "note"];

function cells(row: Row): string[] {
  return [
    row.section,
    row.name,
    typeof row.iterations === "number" ? row.iterations.toLocaleString("en-US") : row.iterations,
    row.unit,
    format(row.p50),
    format(row.p99),
    format(row.iqr),
    format(row.stdev),
    format(row.cpu),
    format(row.value),
    row.ratio === undefined ? "-" : `${format(row.ratio, 3)}×`,
    row.note ?? "",
  ];
}

/** The plain-text table for the terminal. */
export function renderTable(rows: readonly Row[]): string {
  const body = rows.map(cells);
  const widths = HEADERS.map((header, column) => Math.max(header.length, ...body.map((line) => line[column]!.length)));
  const numeric = new Set([2, 4, 5, 6, 7, 8, 9, 10]);
  const line = (values: string[]): string =>
    values
      .map((value, column) => (numeric.has(column) ? value.padStart(widths[column]!) : value.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd();
  const out = [line(HEADERS), widths.map((width) => "-".repeat(width)).join("  ")];
  let previous = "";
  for (let index = 0; index < rows.length; index++) {
    if (index > 0 && rows[index]!.section !== previous) out.push("");
    previous = rows[index]!.section;
    out.push(line(body[index]!));
  }
  return out.join("\n");
}

/** The same table as GitHub markdown. */
export function renderMarkdown(rows: readonly Row[]): string {
  const escape = (text: string): string => text.replace(/\|/g, "\\|");
  const out = [`| ${HEADERS.join(" | ")} |`, `| ${HEADERS.map((_, index) => (index <= 1 || index === 3 || index === 11 ? "---" : "---:")).join(" | ")} |`];
  for (const row of rows) out.push(`| ${cells(row).map(escape).join(" | ")} |`);
  return out.join("\n");
}

/** A target checked at the end: `measured` against `limit` (lower is better). */
export interface Target {
  name: string;
  limit: string;
  measured?: number;
  /** How `measured` is shown, e.g. "12.3 µs". */
  shown?: string;
  pass?: boolean;
  /** Why there is no figure, or which part costs what where it is missed. */
  note?: string;
}

export function renderTargets(targets: readonly Target[]): string {
  const status = (target: Target): string => (target.pass === undefined ? "n/a" : target.pass ? "PASS" : "MISS");
  const nameWidth = Math.max(...targets.map((target) => target.name.length));
  const limitWidth = Math.max(...targets.map((target) => target.limit.length));
  const shownWidth = Math.max(...targets.map((target) => (target.shown ?? "-").length));
  return targets
    .map((target) => {
      const head = `${status(target).padEnd(4)}  ${target.name.padEnd(nameWidth)}  target ${target.limit.padEnd(limitWidth)}  measured ${(target.shown ?? "-").padStart(shownWidth)}`;
      return target.note ? `${head}\n      ${target.note}` : head;
    })
    .join("\n");
}

export function renderTargetsMarkdown(targets: readonly Target[]): string {
  const status = (target: Target): string => (target.pass === undefined ? "n/a" : target.pass ? "PASS" : "MISS");
  const out = ["| target | limit | measured | result | note |", "| --- | --- | ---: | --- | --- |"];
  for (const target of targets) {
    out.push(`| ${target.name} | ${target.limit} | ${target.shown ?? "-"} | ${status(target)} | ${(target.note ?? "").replace(/\|/g, "\\|")} |`);
  }
  return out.join("\n");
}
