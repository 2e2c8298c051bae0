/**
 * What a network reads: its inputs' standardisation (Keras' Normalization layer) and the float32
 * row-major matrix of the feature columns (stages/lib/labeled.ts reads those from tables).
 */

export interface Normalization {
  readonly mean: number[];
  /** Divisor per feature: max(√variance, 1e-7), as Keras' Normalization layer. */
  readonly std: number[];
}

/** Mean and (population) standard deviation per feature, as Keras' Normalization.adapt. */
export function fitNormalization(features: readonly Float64Array[]): Normalization {
  const mean: number[] = [];
  const std: number[] = [];
  for (const v of features) {
    let m = 0;
    for (let i = 0; i < v.length; i++) m += v[i]!;
    m /= v.length;
    let s = 0;
    for (let i = 0; i < v.length; i++) s += (v[i]! - m) * (v[i]! - m);
    mean.push(m);
    std.push(Math.max(Math.sqrt(s / v.length), 1e-7));
  }
  return { mean, std };
}

/** Float32 row-major matrix (n × d), normalised when `norm` is given. */
export function rowMajor(
  features: readonly Float64Array[],
  n: number,
  norm: Normalization | undefined,
): Float32Array {
  const d = features.length;
  const out = new Float32Array(n * d);
  for (let j = 0; j < d; j++) {
    const v = features[j]!;
    const m = norm ? norm.mean[j]! : 0;
    const s = norm ? norm.std[j]! : 1;
    for (let i = 0; i < n; i++) out[i * d + j] = (v[i]! - m) / s;
  }
  return out;
}
