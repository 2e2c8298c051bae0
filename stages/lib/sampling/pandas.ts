/**
 * pandas' `DataFrame.sample` (1.5) without weights: the number of rows is `n`, or
 * `round(frac * len(df))` with Python's round (halves to even); the positions are
 * `random_state.choice(len(df), size, replace)`, where an integer `random_state` is
 * `np.random.RandomState(random_state)` and `random_state=None` is NumPy's global state.
 */
import type { NumpyRandomState } from "./random-state.js";

/** Python's round(): halves go to the even neighbour. */
export function pythonRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** `sample(frac=frac)`'s row count for a frame of `rows` rows. */
export function sampleSizeForFrac(frac: number, rows: number): number {
  return pythonRound(frac * rows);
}

/** Positions (0 … rows−1) that `df.sample(n=size, replace=replace, random_state=…)` takes, in order. */
export function samplePositions(
  rows: number,
  size: number,
  replace: boolean,
  rs: NumpyRandomState,
): Int32Array {
  return rs.choice(rows, size, replace);
}
