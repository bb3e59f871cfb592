/** Seeded test vectors for the semantic index: its tests and its bench draw from the same maths. */

/** A seeded standard normal draw (Box-Muller). */
export function normal(random: () => number): () => number {
  return () => {
    let u = 0;
    while (u === 0) u = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
}

/** `values` scaled to unit length. */
export function unit(values: ArrayLike<number>): Float32Array {
  let sum = 0;
  for (let index = 0; index < values.length; index++) sum += values[index]! * values[index]!;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(values.length);
  for (let index = 0; index < values.length; index++) out[index] = values[index]! / norm;
  return out;
}

/** A unit vector at cosine `similarity` to the unit vector `base`, in a random direction. */
export function near(base: Float32Array, similarity: number, gauss: () => number): Float32Array {
  const other = new Float64Array(base.length);
  let along = 0;
  for (let index = 0; index < base.length; index++) {
    other[index] = gauss();
    along += other[index]! * base[index]!;
  }
  let sum = 0;
  for (let index = 0; index < base.length; index++) {
    other[index]! -= along * base[index]!;
    sum += other[index]! * other[index]!;
  }
  const scale = Math.sqrt(1 - similarity * similarity) / Math.sqrt(sum);
  const out = new Float64Array(base.length);
  for (let index = 0; index < base.length; index++) out[index] = similarity * base[index]! + scale * other[index]!;
  return unit(out);
}
