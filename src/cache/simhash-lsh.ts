/**
 * Random-hyperplane LSH (SimHash) for cosine similarity, the approximate tier of the
 * semantic index for large partitions (see semantic-index.ts for why and the measurements).
 *
 * A vector's hash in one table is the signs of its projections on `bits` random directions;
 * two vectors at angle θ agree on one sign with probability 1 − θ/π, so near-duplicates tend
 * to share a bucket. `tables` independent tables and multi-probing (also visiting the buckets
 * that differ in the `probes` bits the query sits closest to the boundary of) catch the pairs
 * one table misses. Candidates are reranked exactly by the caller, so a result is never wrong,
 * only sometimes missed.
 *
 * The directions are rows of a randomized Hadamard transform (H·D₂·H·D₁ with seeded random
 * signs D), a structured random rotation: one transform of a 384-d vector (padded to 512) costs
 * about 2 × 512 × 9 additions and yields 512 dense random directions, against 168 × 384
 * multiply-adds for 168 explicit Gaussian hyperplanes. Each bit is one projection, chosen by a
 * seeded permutation; vectors are centred on the partition's mean at the time the tables are
 * built (a bias per bit), so embeddings that all lean the same way still split evenly.
 */

export interface LshParameters {
  /** Independent hash tables. */
  readonly tables: number;
  /** Sign bits per table (2^bits buckets). */
  readonly bits: number;
  /** Extra buckets probed per table: the 1-bit flips of the bits nearest the boundary. */
  readonly probes: number;
  /** Randomized Hadamard rounds per transform (2 mixes sparse inputs well). */
  readonly rounds: number;
}

/** A seeded 32-bit PRNG (mulberry32): the same seed draws the same directions. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** In-place unnormalized fast Walsh-Hadamard transform of `x[offset .. offset + n)`. */
function hadamard(x: Float64Array, offset: number, n: number): void {
  for (let half = 1; half < n; half <<= 1) {
    for (let start = offset, end = offset + n; start < end; start += half << 1) {
      for (let j = start, stop = start + half; j < stop; j++) {
        const a = x[j]!;
        const b = x[j + half]!;
        x[j] = a + b;
        x[j + half] = a - b;
      }
    }
  }
}

/** The random directions for one vector size: shared by every partition of that size. */
export class SimHashProjection {
  /** Transform length: the dimensions rounded up to a power of two. */
  readonly size: number;
  /** Independent transforms needed for `tables × bits` projections. */
  readonly blocks: number;
  private readonly signs: Float64Array;
  /** For bit `t × bits + k`: which projection it reads. */
  readonly bitIndex: Int32Array;
  /** Scratch: every projection of the vector last hashed. */
  readonly projections: Float64Array;

  constructor(
    readonly dimensions: number,
    readonly parameters: LshParameters,
    seed: number,
  ) {
    let size = 1;
    while (size < dimensions) size <<= 1;
    this.size = size;
    const total = parameters.tables * parameters.bits;
    this.blocks = Math.ceil(total / size);
    const random = seededRandom(seed ^ Math.imul(dimensions, 0x9e3779b1));
    this.signs = new Float64Array(this.blocks * parameters.rounds * size);
    for (let index = 0; index < this.signs.length; index++) this.signs[index] = random() < 0.5 ? -1 : 1;
    // A seeded shuffle of every projection; the first `total` become the bits.
    const order = new Int32Array(this.blocks * size);
    for (let index = 0; index < order.length; index++) order[index] = index;
    for (let index = order.length - 1; index > 0; index--) {
      const other = Math.floor(random() * (index + 1));
      const swap = order[index]!;
      order[index] = order[other]!;
      order[other] = swap;
    }
    this.bitIndex = order.slice(0, total);
    this.projections = new Float64Array(this.blocks * size);
  }

  /** Fills `projections` with the vector's projections on every direction. */
  project(vector: Float32Array): Float64Array {
    const { size, dimensions, signs, projections } = this;
    const rounds = this.parameters.rounds;
    for (let block = 0; block < this.blocks; block++) {
      const base = block * size;
      let signBase = block * rounds * size;
      for (let index = 0; index < dimensions; index++) projections[base + index] = vector[index]! * signs[signBase + index]!;
      projections.fill(0, base + dimensions, base + size);
      hadamard(projections, base, size);
      for (let round = 1; round < rounds; round++) {
        signBase += size;
        for (let index = 0; index < size; index++) projections[base + index]! *= signs[signBase + index]!;
        hadamard(projections, base, size);
      }
    }
    return projections;
  }
}

const NO_SLOTS = new Int32Array(0);
const NONE = -1;

/**
 * The hash tables of one partition, over its slots (the partition's own swap-remove slots:
 * `move` follows a vector the partition moves). A bucket is a doubly linked list threaded
 * through typed arrays (head per code, next/prev per slot and table), so inserting, removing
 * and moving a slot are O(tables) writes with no allocation.
 *
 * The tables are filled incrementally: new slots are hashed as they arrive, and the slots the
 * partition held when the tables were created are hashed `backfill` calls at a time, so no
 * single call pays for the whole partition. Until `pending` is 0 the caller scans instead.
 */
export class SimHashTables {
  private readonly tables: number;
  private readonly bits: number;
  private readonly heads: Int32Array;
  private readonly bias: Float64Array;
  private codes: Int32Array;
  private next: Int32Array;
  private previous: Int32Array;
  private hashed: Uint8Array;
  /** Query epoch per slot, to count each candidate once. */
  private stamps: Uint32Array;
  private epoch = 0;
  private candidates = new Int32Array(1024);
  private readonly margins: Float64Array;
  /** Slots not hashed yet. */
  pending: number;
  private cursor = 0;

  /**
   * Tables for a partition of `count` vectors, none hashed yet; centred on the mean of a
   * sample of them.
   */
  constructor(
    private readonly projection: SimHashProjection,
    vectors: Float32Array,
    count: number,
    capacity: number,
  ) {
    const { tables, bits } = projection.parameters;
    this.tables = tables;
    this.bits = bits;
    this.heads = new Int32Array(tables << bits).fill(NONE);
    this.codes = new Int32Array(capacity * tables);
    this.next = new Int32Array(capacity * tables);
    this.previous = new Int32Array(capacity * tables);
    this.hashed = new Uint8Array(capacity);
    this.stamps = new Uint32Array(capacity);
    this.margins = new Float64Array(bits);
    this.pending = count;
    // Centre on the mean of up to 256 vectors: projecting the mean gives each bit's bias.
    const dimensions = projection.dimensions;
    const mean = new Float32Array(dimensions);
    const step = Math.max(1, Math.floor(count / 256));
    let sampled = 0;
    for (let slot = 0; slot < count; slot += step, sampled++) {
      for (let index = 0, base = slot * dimensions; index < dimensions; index++) mean[index]! += vectors[base + index]!;
    }
    if (sampled > 0) for (let index = 0; index < dimensions; index++) mean[index]! /= sampled;
    const all = projection.project(mean);
    this.bias = new Float64Array(tables * bits);
    for (let bit = 0; bit < this.bias.length; bit++) this.bias[bit] = all[projection.bitIndex[bit]!]!;
  }

  /** Hashes up to `limit` of the slots held before the tables existed. */
  backfill(vectors: Float32Array, count: number, limit: number): void {
    const dimensions = this.projection.dimensions;
    for (let scanned = 0; this.pending > 0 && limit > 0 && scanned <= count; scanned++) {
      if (this.cursor >= count) this.cursor = 0;
      const slot = this.cursor++;
      if (this.hashed[slot]) continue;
      this.hashSlot(slot, vectors.subarray(slot * dimensions, (slot + 1) * dimensions));
      this.pending--;
      limit--;
    }
  }

  /** Hashes a slot the partition just filled. */
  insert(slot: number, vector: Float32Array): void {
    this.hashSlot(slot, vector);
  }

  private hashSlot(slot: number, vector: Float32Array): void {
    const all = this.projection.project(vector);
    const { bitIndex } = this.projection;
    const { tables, bits, bias, heads, next, previous, codes } = this;
    for (let table = 0; table < tables; table++) {
      let code = 0;
      for (let k = 0, bit = table * bits; k < bits; k++, bit++) if (all[bitIndex[bit]!]! > bias[bit]!) code |= 1 << k;
      const key = (table << bits) | code;
      const at = slot * tables + table;
      const head = heads[key]!;
      codes[at] = code;
      next[at] = head;
      previous[at] = NONE;
      if (head !== NONE) previous[head * tables + table] = slot;
      heads[key] = slot;
    }
    this.hashed[slot] = 1;
  }

  /** Takes a slot out of its buckets. */
  remove(slot: number): void {
    if (!this.hashed[slot]) {
      this.pending--;
      return;
    }
    this.hashed[slot] = 0;
    const { tables, bits, heads, next, previous, codes } = this;
    for (let table = 0; table < tables; table++) {
      const at = slot * tables + table;
      const before = previous[at]!;
      const after = next[at]!;
      if (before !== NONE) next[before * tables + table] = after;
      else heads[(table << bits) | codes[at]!] = after;
      if (after !== NONE) previous[after * tables + table] = before;
    }
  }

  /** The vector in slot `from` now lives in slot `to` (which `remove` has emptied). */
  move(from: number, to: number): void {
    if (!this.hashed[from]) return;
    this.hashed[from] = 0;
    this.hashed[to] = 1;
    const { tables, bits, heads, next, previous, codes } = this;
    for (let table = 0; table < tables; table++) {
      const source = from * tables + table;
      const target = to * tables + table;
      const before = previous[source]!;
      const after = next[source]!;
      codes[target] = codes[source]!;
      previous[target] = before;
      next[target] = after;
      if (before !== NONE) next[before * tables + table] = to;
      else heads[(table << bits) | codes[source]!] = to;
      if (after !== NONE) previous[after * tables + table] = to;
    }
  }

  resize(capacity: number, count: number): void {
    const grow = (old: Int32Array): Int32Array => {
      const copy = new Int32Array(capacity * this.tables);
      copy.set(old.subarray(0, count * this.tables));
      return copy;
    };
    this.codes = grow(this.codes);
    this.next = grow(this.next);
    this.previous = grow(this.previous);
    const hashed = new Uint8Array(capacity);
    hashed.set(this.hashed.subarray(0, count));
    this.hashed = hashed;
    this.stamps = new Uint32Array(capacity);
    this.epoch = 0;
  }

  /**
   * The distinct slots sharing a probed bucket with `query`: its own bucket in every table and
   * the 1-bit flips of its `probes` least certain bits. Valid until the next call.
   */
  candidatesFor(query: Float32Array): { slots: Int32Array; count: number } {
    const { bits, tables, bias, margins, stamps, heads, next } = this;
    const probes = Math.min(this.projection.parameters.probes, bits);
    const all = this.projection.project(query);
    const { bitIndex } = this.projection;
    if (++this.epoch === 0xffffffff) {
      stamps.fill(0);
      this.epoch = 1;
    }
    const epoch = this.epoch;
    let candidates = this.candidates;
    let count = 0;
    for (let table = 0; table < tables; table++) {
      let code = 0;
      for (let k = 0, bit = table * bits; k < bits; k++, bit++) {
        const value = all[bitIndex[bit]!]! - bias[bit]!;
        if (value > 0) code |= 1 << k;
        margins[k] = Math.abs(value);
      }
      for (let probe = -1; probe < probes; probe++) {
        let probed = code;
        if (probe >= 0) {
          // The least certain bit not flipped yet (a pass over `bits` margins).
          let nearest = 0;
          for (let k = 1; k < bits; k++) if (margins[k]! < margins[nearest]!) nearest = k;
          margins[nearest] = Infinity;
          probed = code ^ (1 << nearest);
        }
        for (let slot = heads[(table << bits) | probed]!; slot !== NONE; slot = next[slot * tables + table]!) {
          if (stamps[slot] === epoch) continue;
          stamps[slot] = epoch;
          if (count === candidates.length) {
            const grown = new Int32Array(count * 2);
            grown.set(candidates);
            this.candidates = candidates = grown;
          }
          candidates[count++] = slot;
        }
      }
    }
    return { slots: count === 0 ? NO_SLOTS : candidates, count };
  }
}
