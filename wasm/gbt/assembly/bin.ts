// Binning feature values into one-byte codes, on every thread (a task per block of rows): the
// same codes as binning.ts `binColumns`, which the tests compare it with.

import {
  BIN_BUCKETS,
  BN_BELOW,
  BN_COUNT,
  BN_EDGES,
  BN_END,
  BN_OUT,
  BN_START,
  BN_VALUES,
  BND_FIRST,
  BND_LAST,
  BND_SCALE,
  MISSING_BIN,
  dbl,
  ptr,
  word,
} from "./layout";

/**
 * A value's code is the index of the first edge >= it (the edge count when none is), MISSING_BIN
 * for NaN. With a bucket table the search only spans the edges near the value's bucket, one
 * bucket of slack on each side absorbing rounding in the bucket index.
 */
export function binTask(task: usize): void {
  const values = ptr(task, BN_VALUES);
  const start = word(task, BN_START);
  const end = word(task, BN_END);
  const out = ptr(task, BN_OUT);
  const edges = ptr(task, BN_EDGES);
  const m = word(task, BN_COUNT);
  const below = ptr(task, BN_BELOW);
  const first = dbl(task, BND_FIRST);
  const last = dbl(task, BND_LAST);
  const scale = dbl(task, BND_SCALE);
  for (let r = start; r < end; r++) {
    const v = load<f64>(values + ((<usize>r) << 3));
    let code: i32;
    if (isNaN(v)) code = MISSING_BIN;
    else {
      let lo: i32 = 0;
      let hi: i32 = m;
      if (below != 0) {
        if (v <= first) hi = 0;
        else if (v > last) lo = m;
        else {
          const b = <i32>Math.floor((v - first) * scale);
          const under: i32 = b > 0 ? b - 1 : 0;
          lo = <i32>load<u8>(below + <usize>under);
          hi = b + 2 <= BIN_BUCKETS ? <i32>load<u8>(below + <usize>(b + 2)) : m;
        }
      }
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (load<f64>(edges + ((<usize>mid) << 3)) < v) lo = mid + 1;
        else hi = mid;
      }
      code = lo;
    }
    store<u8>(out + <usize>r, <u8>code);
  }
}
