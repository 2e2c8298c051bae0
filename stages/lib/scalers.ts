/**
 * Column scalers with scikit-learn's numerics, so a scaled column agrees with StandardScaler /
 * MinMaxScaler to the last bits on the same data:
 * - standard: mean and population variance (ddof = 0) by the corrected two-pass algorithm of
 *   `_incremental_mean_and_var` (Chan, Golub & LeVeque), summing in row order as numpy does along
 *   axis 0; a (near-)constant column gets scale 1 by `_is_constant_feature`; transform (x - mean) / scale.
 * - minmax: scale = (hi - lo) / (max - min), a zero range counts as 1; offset = lo - min·scale;
 *   transform x·scale + offset.
 * NaN is ignored when fitting and stays NaN when transforming.
 */

export interface StandardParams {
  readonly mean: number;
  readonly var: number;
  readonly scale: number;
  readonly n_samples_seen: number;
}

export interface MinMaxParams {
  readonly data_min: number;
  readonly data_max: number;
  readonly scale: number;
  readonly min: number;
}

const EPS = 2.220446049250313e-16;

/** Undefined when the column has no non-missing value. */
export function fitStandard(x: Float64Array): StandardParams | undefined {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v === v) {
      sum += v;
      count++;
    }
  }
  if (count === 0) return undefined;
  const mean = sum / count;
  let correction = 0;
  let squares = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v === v) {
      const d = v - mean;
      correction += d;
      squares += d * d;
    }
  }
  const variance = (squares - (correction * correction) / count) / count;
  // scikit-learn's _is_constant_feature: the variance is below what rounding alone could produce.
  const bound = count * EPS * variance + (count * mean * EPS) ** 2;
  const scale = variance <= bound ? 1 : Math.sqrt(variance);
  return { mean, var: variance, scale, n_samples_seen: count };
}

export function fitMinMax(x: Float64Array, lo: number, hi: number): MinMaxParams | undefined {
  let min = Infinity;
  let max = -Infinity;
  let seen = false;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v === v) {
      seen = true;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!seen) return undefined;
  const range = max - min;
  const scale = (hi - lo) / (range < 10 * EPS ? 1 : range);
  return { data_min: min, data_max: max, scale, min: lo - min * scale };
}

export function transformStandard(
  x: Float64Array,
  p: StandardParams,
  out = new Float64Array(x.length),
): Float64Array {
  const { mean, scale } = p;
  for (let i = 0; i < x.length; i++) out[i] = (x[i]! - mean) / scale;
  return out;
}

export function transformMinMax(
  x: Float64Array,
  p: MinMaxParams,
  clip?: { lo: number; hi: number },
  out = new Float64Array(x.length),
): Float64Array {
  const { scale, min } = p;
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * scale + min;
  if (clip) {
    const { lo, hi } = clip;
    for (let i = 0; i < out.length; i++) {
      const v = out[i]!;
      if (v < lo) out[i] = lo;
      else if (v > hi) out[i] = hi;
    }
  }
  return out;
}
