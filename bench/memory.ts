/**
 * Section 6: heap per in-flight request, heap per exact-cache entry, RSS after many calls with
 * a growth check. Runs bench/memory-child.ts in a `node --expose-gc` child (forced GC, and a
 * heap that holds nothing from the other sections).
 */
import { spawnTracked, stop, waitForLine } from "./children.js";
import type { MemoryResult, MemoryTask } from "./memory-child.js";
import type { Modelgate } from "./modelgate.js";
import { missingRow, type Row } from "./stats.js";

const SECTION = "6 memory";
/** Heap growth after warm-up, per 10k calls, above which the run flags a leak. */
export const LEAK_BYTES_PER_10K = 256 * 1024;

export interface MemoryOutcome {
  rows: Row[];
  /** Heap growth after warm-up, bytes per 10k calls (undefined if not measured). */
  growthPer10k?: number;
  leak?: boolean;
}

export async function runMemory(modelgate: Modelgate, quick: boolean, features: string[], root: string): Promise<MemoryOutcome> {
  const task: MemoryTask = {
    dir: modelgate.dir,
    features,
    inflight: 1_000,
    cacheEntries: quick ? 500 : 5_000,
    totalCalls: quick ? 8_000 : 100_000,
    checkpoint: quick ? 3_000 : 20_000,
    trailPoints: quick ? 3 : 10,
  };
  const child = spawnTracked(process.execPath, ["--expose-gc", "--import", "tsx", "bench/memory-child.ts", JSON.stringify(task)], { cwd: root });
  let result: MemoryResult;
  try {
    const line = await waitForLine(child, /MEMORY_RESULT (.+)\n/, quick ? 60_000 : 150_000);
    result = JSON.parse(line[1]!) as MemoryResult;
  } catch (error) {
    return { rows: [missingRow(SECTION, "memory", `child failed: ${error instanceof Error ? error.message : String(error)}`)] };
  } finally {
    await stop(child);
  }

  const rows: Row[] = [];
  const { inflight, cacheEntry, growth } = result;
  rows.push({
    section: SECTION,
    name: `heap per in-flight call, gateway.chat() (${features.join(", ") || "core"})`,
    iterations: inflight.n,
    unit: "bytes",
    value: inflight.gatewayBytes,
    ratio: inflight.gatewayBytes / inflight.directBytes,
    note: `added vs adapter direct: ${Math.round(inflight.gatewayBytes - inflight.directBytes).toLocaleString("en-US")} B per call (mock holds each call 200 ms)`,
  });
  rows.push({
    section: SECTION,
    name: "heap per in-flight call, adapter.chat() direct (baseline)",
    iterations: inflight.n,
    unit: "bytes",
    value: inflight.directBytes,
    ratio: 1,
  });
  if (cacheEntry) {
    rows.push({
      section: SECTION,
      name: "heap per exact-cache entry (2 KB request, 72-char reply)",
      iterations: cacheEntry.entries,
      unit: "bytes",
      value: cacheEntry.bytes,
      note: `vs the same calls with no cache; the cache's own count: ${cacheEntry.reportedBytes === undefined ? "-" : `${Math.round(cacheEntry.reportedBytes).toLocaleString("en-US")} B/entry (UTF-16 estimate)`}`,
    });
  } else {
    rows.push(missingRow(SECTION, "heap per exact-cache entry", "no cache section in this build"));
  }
  const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
  const growthBytes = growth.heapAtEnd - growth.heapAtCheckpoint;
  const growthPer10k = (growthBytes / (growth.calls - growth.checkpoint)) * 10_000;
  const leak = growthPer10k > LEAK_BYTES_PER_10K;
  rows.push({
    section: SECTION,
    name: `RSS after ${growth.calls.toLocaleString("en-US")} sequential calls, all on`,
    iterations: growth.calls,
    unit: "MB",
    value: growth.rssAtEnd / 2 ** 20,
    note: `RSS ${mb(growth.rssAtCheckpoint)} MB @${growth.checkpoint / 1000}k -> ${mb(growth.rssAtEnd)} MB @${growth.calls / 1000}k (${signedMb(growth.rssAtEnd - growth.rssAtCheckpoint)})`,
  });
  rows.push({
    section: SECTION,
    name: `heap after GC, @${growth.checkpoint / 1000}k -> @${growth.calls / 1000}k calls`,
    iterations: growth.calls - growth.checkpoint,
    unit: "MB",
    value: growth.heapAtEnd / 2 ** 20,
    note: `${mb(growth.heapAtCheckpoint)} -> ${mb(growth.heapAtEnd)} MB (${signedMb(growthBytes)}, ${Math.round(growthPer10k / 1024)} KB per 10k calls): ${leak ? "LEAK? grows past warm-up" : "no growth after warm-up"}; bounds: ${growth.bounds}; trail ${growth.heapTrail.map(mb).join(", ")}`,
  });
  return { rows, growthPer10k, leak };
}

function signedMb(bytes: number): string {
  return `${bytes >= 0 ? "+" : ""}${(bytes / 2 ** 20).toFixed(2)} MB`;
}
