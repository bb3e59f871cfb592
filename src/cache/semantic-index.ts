/** The nearest stored entry a query matched. */
export interface SemanticMatch {
  /** The id the entry was added with (the exact cache key of the stored answer). */
  id: string;
  /** Cosine similarity to the query, in [-1, 1]. */
  similarity: number;
}

const INITIAL_CAPACITY = 8;

/** float32 rounding: a vector's dot product with itself can come out at 0.99999994. */
const SIMILARITY_EPSILON = 1e-6;

/**
 * The vectors of one partition (one scope and one exact part of the key), stored contiguously
 * so a scan reads memory in order.
 */
class Partition {
  vectors: Float32Array;
  ids: string[] = [];
  expiresAt: Float64Array;
  count = 0;

  constructor(readonly dimensions: number) {
    this.vectors = new Float32Array(INITIAL_CAPACITY * dimensions);
    this.expiresAt = new Float64Array(INITIAL_CAPACITY);
  }

  /** Appends a vector; returns its slot. */
  push(id: string, vector: Float32Array, expiresAt: number): number {
    if (this.count === this.expiresAt.length) this.grow();
    const slot = this.count++;
    this.vectors.set(vector, slot * this.dimensions);
    this.ids[slot] = id;
    this.expiresAt[slot] = expiresAt;
    return slot;
  }

  /** Moves the last vector into `slot`; returns the id that moved there, if any. */
  removeAt(slot: number): string | undefined {
    const last = --this.count;
    let moved: string | undefined;
    if (slot !== last) {
      this.vectors.copyWithin(slot * this.dimensions, last * this.dimensions, (last + 1) * this.dimensions);
      moved = this.ids[last]!;
      this.ids[slot] = moved;
      this.expiresAt[slot] = this.expiresAt[last]!;
    }
    this.ids.length = last;
    // Give memory back when a partition has shrunk to a quarter of its room (evictions, expiry).
    const capacity = this.expiresAt.length;
    if (capacity > INITIAL_CAPACITY && this.count < capacity / 4) this.resize(capacity / 2);
    return moved;
  }

  private grow(): void {
    this.resize(this.expiresAt.length * 2);
  }

  private resize(capacity: number): void {
    const vectors = new Float32Array(capacity * this.dimensions);
    vectors.set(this.vectors.subarray(0, this.count * this.dimensions));
    this.vectors = vectors;
    const expiresAt = new Float64Array(capacity);
    expiresAt.set(this.expiresAt.subarray(0, this.count));
    this.expiresAt = expiresAt;
  }
}

interface Entry {
  readonly partitionKey: string;
  readonly partition: Partition;
  slot: number;
}

/**
 * Nearest-neighbour search over normalized vectors (dot product = cosine similarity), one
 * partition per scope and exact part, so a search never sees another tenant's vectors.
 *
 * A partition is scanned linearly: measured on 2 vCPUs at 384 dimensions, about 0.4 ms per
 * 1,000 vectors (bench/cache.ts). Partitions are usually small (one application prompt, one
 * tenant); `maxEntries` bounds the worst case. An approximate index (HNSW) would pay off only
 * for partitions of tens of thousands of vectors.
 *
 * Bounded by `maxEntries` across all partitions: the least recently used entry goes first
 * (a Map's insertion order is the recency list). Memory is about `maxEntries × dimensions × 4`
 * bytes (up to twice that while a partition has room to grow): 5,000 vectors of 1,536-d take
 * 31 MB, of 384-d 8 MB.
 */
export class SemanticIndex {
  private readonly partitions = new Map<string, Partition>();
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * The most similar live entry of the partition at or above `threshold`. `query` must be
   * normalized and have the partition's dimensions; a different embedding size never matches.
   */
  search(partitionKey: string, query: Float32Array, threshold: number, now: number = performance.now()): SemanticMatch | undefined {
    const partition = this.partitions.get(partitionKey);
    if (!partition || partition.dimensions !== query.length) return undefined;
    const { vectors, expiresAt, dimensions, count } = partition;
    let bestSlot = -1;
    let best = threshold - SIMILARITY_EPSILON;
    let expired: string[] | undefined;
    for (let slot = 0, base = 0; slot < count; slot++, base += dimensions) {
      const similarity = dot(vectors, base, query, dimensions);
      if (similarity < best) continue;
      if (expiresAt[slot]! <= now) {
        (expired ??= []).push(partition.ids[slot]!);
        continue;
      }
      best = similarity;
      bestSlot = slot;
    }
    const match = bestSlot >= 0 ? { id: partition.ids[bestSlot]!, similarity: best } : undefined;
    if (expired) for (const id of expired) this.delete(id);
    if (match) this.touch(match.id);
    return match;
  }

  /** Adds (or replaces) an entry, evicting the least recently used beyond `maxEntries`. */
  add(partitionKey: string, id: string, vector: Float32Array, now: number = performance.now()): void {
    this.delete(id);
    let partition = this.partitions.get(partitionKey);
    if (partition && partition.dimensions !== vector.length) {
      // The embedding model changed size: the old vectors can no longer match anything.
      this.deletePartition(partitionKey, partition);
      partition = undefined;
    }
    if (!partition) {
      partition = new Partition(vector.length);
      this.partitions.set(partitionKey, partition);
    }
    const slot = partition.push(id, vector, now + this.ttlMs);
    this.entries.set(id, { partitionKey, partition, slot });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
  }

  /** Marks an entry as just used. */
  touch(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.entries.set(id, entry);
  }

  delete(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    const moved = entry.partition.removeAt(entry.slot);
    if (moved !== undefined) this.entries.get(moved)!.slot = entry.slot;
    if (entry.partition.count === 0) this.partitions.delete(entry.partitionKey);
  }

  clear(): void {
    this.partitions.clear();
    this.entries.clear();
  }

  private deletePartition(partitionKey: string, partition: Partition): void {
    for (let slot = 0; slot < partition.count; slot++) this.entries.delete(partition.ids[slot]!);
    this.partitions.delete(partitionKey);
  }
}

/** Dot product of `query` with the vector at `base`, four lanes at a time. */
function dot(vectors: Float32Array, base: number, query: Float32Array, dimensions: number): number {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let index = 0;
  for (; index + 3 < dimensions; index += 4) {
    a += vectors[base + index]! * query[index]!;
    b += vectors[base + index + 1]! * query[index + 1]!;
    c += vectors[base + index + 2]! * query[index + 2]!;
    d += vectors[base + index + 3]! * query[index + 3]!;
  }
  for (; index < dimensions; index++) a += vectors[base + index]! * query[index]!;
  return a + b + c + d;
}

/** A unit-length copy of `values`, or undefined when it has no direction (zero, NaN, empty). */
export function normalizeVector(values: readonly number[]): Float32Array | undefined {
  if (values.length === 0) return undefined;
  let sum = 0;
  for (const value of values) sum += value * value;
  const norm = Math.sqrt(sum);
  if (!Number.isFinite(norm) || norm === 0) return undefined;
  const vector = new Float32Array(values.length);
  for (let index = 0; index < values.length; index++) vector[index] = values[index]! / norm;
  return vector;
}
