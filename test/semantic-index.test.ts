import { describe, expect, it } from "vitest";
import { SemanticIndex } from "../src/cache/semantic-index.js";
import { seededRandom } from "../src/cache/simhash-lsh.js";
import { near, normal, unit } from "./fakes/vectors.js";

function randomUnit(dimensions: number, gauss: () => number): Float32Array {
  const values = new Float64Array(dimensions);
  for (let index = 0; index < dimensions; index++) values[index] = gauss();
  return unit(values);
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += a[index]! * b[index]!;
  return sum;
}

/** Vectors around 200 random centres, each at cosine ≈ 0.8 to its centre (closer to real embeddings). */
function clustered(count: number, dimensions: number, gauss: () => number): Float32Array[] {
  const centres = Array.from({ length: 200 }, () => randomUnit(dimensions, gauss));
  const noise = 0.75 / Math.sqrt(dimensions);
  return Array.from({ length: count }, (_, entry) => {
    const centre = centres[entry % 200]!;
    const values = new Float64Array(dimensions);
    for (let index = 0; index < dimensions; index++) values[index] = centre[index]! + noise * gauss();
    return unit(values);
  });
}

/** Fraction of planted near-duplicates for which the index finds the exact scan's best match. */
function recall(vectors: Float32Array[], similarity: number, queries: number, seed: number): { recall: number; approximate: boolean } {
  const index = new SemanticIndex(vectors.length, 3_600_000);
  // The reference: the same index with LSH off, an exact linear scan.
  const exact = new SemanticIndex(vectors.length, 3_600_000, { approximateAbove: Infinity });
  vectors.forEach((vector, entry) => {
    index.add("p", `e${entry}`, vector, 0);
    exact.add("p", `e${entry}`, vector, 0);
  });
  const random = seededRandom(seed);
  const gauss = normal(random);
  let found = 0;
  for (let query = 0; query < queries; query++) {
    const vector = near(vectors[Math.floor(random() * vectors.length)]!, similarity, gauss);
    const expected = exact.search("p", vector, 0.9, 0);
    expect(expected).toBeDefined();
    if (index.search("p", vector, 0.9, 0)?.id === expected!.id) found++;
  }
  return { recall: found / queries, approximate: index.isApproximate("p") };
}

/**
 * The recall cases hash and scan thousands of 384-d vectors: pure CPU, seconds when the machine
 * is busy. They are deterministic (seeded), so they get a timeout that only catches a hang.
 */
const CPU_BOUND_TIMEOUT_MS = 180_000;

describe("SemanticIndex: LSH tier for large partitions", () => {
  it("finds a ≥ 0.95-similar near-duplicate among 10k random 384-d vectors (recall ≥ 0.9)", () => {
    const gauss = normal(seededRandom(1));
    const vectors = Array.from({ length: 10_000 }, () => randomUnit(384, gauss));
    const result = recall(vectors, 0.95, 150, 2);
    expect(result.approximate).toBe(true);
    expect(result.recall).toBeGreaterThanOrEqual(0.9);
  }, CPU_BOUND_TIMEOUT_MS);

  it("finds near-duplicates in clustered data too (recall ≥ 0.9 at 0.95)", () => {
    const vectors = clustered(10_000, 384, normal(seededRandom(3)));
    const result = recall(vectors, 0.95, 150, 4);
    expect(result.approximate).toBe(true);
    expect(result.recall).toBeGreaterThanOrEqual(0.9);
  }, CPU_BOUND_TIMEOUT_MS);

  it("scans exactly at or below 2,048 vectors and switches to LSH above, hashing in bounded chunks", () => {
    const gauss = normal(seededRandom(5));
    const index = new SemanticIndex(10_000, 3_600_000);
    for (let entry = 0; entry < 2_049; entry++) index.add("p", `e${entry}`, randomUnit(384, gauss), 0);
    // Crossed the threshold: the existing vectors are hashed over the next adds, scanned meanwhile.
    expect(index.isApproximate("p")).toBe(false);
    for (let entry = 2_049; entry < 2_100; entry++) index.add("p", `e${entry}`, randomUnit(384, gauss), 0);
    expect(index.isApproximate("p")).toBe(true);
    // Below half the threshold the partition goes back to scanning.
    for (let entry = 0; entry < 1_100; entry++) index.delete(`e${entry}`);
    expect(index.isApproximate("p")).toBe(false);
  });

  it("never returns a hit below the threshold, and reports its exact similarity", () => {
    const random = seededRandom(6);
    const gauss = normal(random);
    const vectors = Array.from({ length: 5_000 }, () => randomUnit(64, gauss));
    const index = new SemanticIndex(10_000, 3_600_000);
    vectors.forEach((vector, entry) => index.add("p", `e${entry}`, vector, 0));
    for (let entry = 0; entry < 200; entry++) index.add("p", `x${entry}`, randomUnit(64, gauss), 0); // finish hashing
    expect(index.isApproximate("p")).toBe(true);
    let hits = 0;
    for (let query = 0; query < 500; query++) {
      const threshold = 0.5 + 0.5 * random();
      const target = Math.floor(random() * vectors.length);
      const vector = near(vectors[target]!, 0.4 + 0.6 * random(), gauss);
      const match = index.search("p", vector, threshold, 0);
      if (!match) continue;
      hits++;
      expect(match.similarity).toBeGreaterThanOrEqual(threshold - 1e-6);
      const stored = match.id.startsWith("e") ? vectors[Number(match.id.slice(1))]! : undefined;
      if (stored) expect(Math.abs(match.similarity - dot(stored, vector))).toBeLessThan(1e-5);
    }
    expect(hits).toBeGreaterThan(50);
  });

  it("never returns an expired entry from the LSH path, and drops it when met", () => {
    const gauss = normal(seededRandom(7));
    const index = new SemanticIndex(10_000, 100);
    const old = randomUnit(128, gauss);
    index.add("p", "old", old, 0);
    for (let entry = 0; entry < 3_000; entry++) index.add("p", `e${entry}`, randomUnit(128, gauss), 1_000);
    expect(index.isApproximate("p")).toBe(true);
    expect(index.search("p", old, 0.99, 50)?.id).toBe("old");
    expect(index.search("p", old, 0.99, 500)).toBeUndefined();
    expect(index.size).toBe(3_000);
  });

  it("matches a brute-force reference under 20k random adds, replacements, deletes, evictions and searches", () => {
    const random = seededRandom(8);
    const gauss = normal(random);
    const maxEntries = 400;
    const index = new SemanticIndex(maxEntries, 3_600_000, { approximateAbove: 64 });
    // Recency order = insertion order of this Map, as in the index.
    const reference = new Map<string, { partition: string; vector: Float32Array }>();
    const touch = (id: string): void => {
      const entry = reference.get(id)!;
      reference.delete(id);
      reference.set(id, entry);
    };
    const partitions = ["a", "b", "c"];
    const pickPartition = (): string => partitions[random() < 0.7 ? 0 : random() < 0.7 ? 1 : 2]!;
    const liveIds = (): string[] => [...reference.keys()];
    let nextId = 0;
    let approximateSearches = 0;
    let exactSearches = 0;

    const check = (partition: string, query: Float32Array, threshold: number): void => {
      const approximate = index.isApproximate(partition);
      const match = index.search(partition, query, threshold, 0);
      let bestId: string | undefined;
      let best = threshold - 1e-6;
      for (const [id, entry] of reference) {
        if (entry.partition !== partition || entry.vector.length !== query.length) continue;
        const similarity = dot(entry.vector, query);
        if (similarity >= best) [best, bestId] = [similarity, id];
      }
      if (approximate) approximateSearches++;
      else exactSearches++;
      if (!match) {
        if (!approximate) expect(bestId).toBeUndefined();
        return;
      }
      // Whatever it returns is live, in this partition, above the threshold, and exactly scored.
      const entry = reference.get(match.id);
      expect(entry, `returned removed id ${match.id}`).toBeDefined();
      expect(entry!.partition).toBe(partition);
      expect(Math.abs(match.similarity - dot(entry!.vector, query))).toBeLessThan(1e-5);
      expect(match.similarity).toBeGreaterThanOrEqual(threshold - 1e-5);
      expect(match.similarity).toBeLessThanOrEqual(best + 1e-5);
      if (!approximate) expect(match.id === bestId || Math.abs(match.similarity - best) < 1e-6).toBe(true);
      touch(match.id);
    };

    for (let step = 0; step < 20_000; step++) {
      // Phases: grow partitions past the LSH threshold, then shrink them back below half of it.
      const growing = Math.floor(step / 2_500) % 2 === 0;
      const roll = random();
      const ids = liveIds();
      if (roll < (growing ? 0.45 : 0.15)) {
        const partition = pickPartition();
        const dimensions = random() < 0.002 ? 48 : 32; // now and then the embedding size changes
        const id = ids.length > 0 && random() < 0.1 ? ids[Math.floor(random() * ids.length)]! : `id${nextId++}`;
        const vector = randomUnit(dimensions, gauss);
        index.add(partition, id, vector, 0);
        reference.delete(id);
        for (const [other, entry] of reference) {
          if (entry.partition === partition && entry.vector.length !== dimensions) reference.delete(other);
        }
        reference.set(id, { partition, vector });
        while (reference.size > maxEntries) reference.delete(reference.keys().next().value!);
      } else if (roll < (growing ? 0.55 : 0.6)) {
        if (ids.length === 0) continue;
        const id = ids[Math.floor(random() * ids.length)]!;
        index.delete(id);
        reference.delete(id);
      } else if (roll < 0.8) {
        // A near-duplicate of a live entry, or its very vector.
        if (ids.length === 0) continue;
        const entry = reference.get(ids[Math.floor(random() * ids.length)]!)!;
        const query = random() < 0.3 ? entry.vector : near(entry.vector, 0.9 + 0.1 * random(), gauss);
        check(entry.partition, query, 0.85 + 0.1 * random());
      } else {
        check(pickPartition(), randomUnit(32, gauss), 0.2 + 0.6 * random());
      }
      expect(index.size).toBe(reference.size);
    }

    // Every live entry is still found by its own vector: no bucket lost or mislinked a slot.
    for (const [id, entry] of [...reference]) {
      expect(index.search(entry.partition, entry.vector, 0.999, 0)?.id).toBe(id);
    }
    expect(approximateSearches).toBeGreaterThan(1_000);
    expect(exactSearches).toBeGreaterThan(1_000);
  });
});
