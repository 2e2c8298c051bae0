/**
 * Summary statistics shared by every layer (the kfold stage's per-fold figures, a sweep's spread
 * over seeds), so that there is one definition and the choice of divisor is always explicit.
 */

/**
 * Mean and standard deviation of `values`, dividing the sum of squares by n − ddof as numpy's
 * `std(ddof=…)` does: ddof 0 is the population deviation (numpy's default), ddof 1 the sample
 * deviation (the spread a new draw would show). NaN where numpy gives NaN: no values, or n ≤ ddof.
 */
export function meanStd(values: readonly number[], ddof: 0 | 1): { mean: number; std: number; n: number } {
  const n = values.length;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = n > 0 ? sum / n : NaN;
  let squares = 0;
  for (const v of values) squares += (v - mean) * (v - mean);
  const std = n - ddof > 0 ? Math.sqrt(squares / (n - ddof)) : NaN;
  return { mean, std, n };
}
