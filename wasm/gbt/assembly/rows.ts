// Row bookkeeping: the stable partition of a node's rows (in place, with a scratch array at the
// same offsets so concurrent nodes never touch each other's memory), leaf values added to scores,
// and the walk of one row down a tree in bin form.

import {
  dbl,
  ptr,
  setDbl,
  setWord,
  word,
  MISSING_BIN,
  NODE_BYTES,
  PD_LEFT_G,
  PD_RIGHT_G,
  P_BIN,
  P_COL,
  P_END,
  P_MID,
  P_MISSING_LEFT,
  P_START,
  A_END,
  A_START,
  AD_VALUE,
  X_CODES,
  X_GH,
  X_N,
  X_ROWS,
  X_SCORES,
  X_SCRATCH,
} from "./layout";

/**
 * Splits rows[start, end) into the rows going left, in their order, then those going right, in
 * theirs, and sums each side's (gradient, hessian) in row order on the way.
 */
export function partitionTask(ctx: usize, task: usize): void {
  const n = word(ctx, X_N);
  const rows = ptr(ctx, X_ROWS);
  const scratch = ptr(ctx, X_SCRATCH);
  const gh = ptr(ctx, X_GH);
  const start = word(task, P_START);
  const end = word(task, P_END);
  const col = ptr(ctx, X_CODES) + <usize>word(task, P_COL) * <usize>n;
  const bin = word(task, P_BIN);
  const missingLeft = word(task, P_MISSING_LEFT);
  let left = rows + ((<usize>start) << 2);
  let right = scratch + ((<usize>start) << 2);
  let sumLeft = f64x2.splat(0);
  let sumRight = f64x2.splat(0);
  for (let k = start; k < end; k++) {
    const r = load<u32>(rows + ((<usize>k) << 2));
    const c = <i32>load<u8>(col + <usize>r);
    const goLeft = select<i32>(missingLeft, <i32>(c <= bin), c == MISSING_BIN);
    // Branch-free: write the row to both sides, advance one of them.
    store<u32>(left, r);
    store<u32>(right, r);
    left += (<usize>goLeft) << 2;
    right += (<usize>(1 - goLeft)) << 2;
    const v = v128.load(gh + ((<usize>r) << 4));
    const m = i64x2.splat(-(<i64>goLeft));
    // Adding +0 leaves a sum unchanged, so each side's sum runs over its own rows in order.
    sumLeft = f64x2.add(sumLeft, v128.and(v, m));
    sumRight = f64x2.add(sumRight, v128.andnot(v, m));
  }
  const mid = <i32>((left - rows) >> 2);
  const spill = right - (scratch + ((<usize>start) << 2));
  memory.copy(left, scratch + ((<usize>start) << 2), spill);
  setWord(task, P_MID, mid);
  setDbl(task, PD_LEFT_G, f64x2.extract_lane(sumLeft, 0));
  setDbl(task, PD_LEFT_G + 1, f64x2.extract_lane(sumLeft, 1));
  setDbl(task, PD_RIGHT_G, f64x2.extract_lane(sumRight, 0));
  setDbl(task, PD_RIGHT_G + 1, f64x2.extract_lane(sumRight, 1));
}

/** Adds a leaf's value to the score of each of its rows. */
export function applyTask(ctx: usize, task: usize): void {
  const rows = ptr(ctx, X_ROWS);
  const scores = ptr(ctx, X_SCORES);
  const end = word(task, A_END);
  const value = dbl(task, AD_VALUE);
  for (let k = word(task, A_START); k < end; k++) {
    const p = scores + ((<usize>load<u32>(rows + ((<usize>k) << 2))) << 3);
    store<f64>(p, load<f64>(p) + value);
  }
}

/** Leaf value reached by row r (code <= bin goes left; missing codes go where the node says). */
export function walkTree(tree: usize, codes: usize, n: i32, r: i32): f64 {
  let node = tree;
  let col = load<i32>(node);
  while (col >= 0) {
    const c = <i32>load<u8>(codes + <usize>col * <usize>n + <usize>r);
    const goLeft = c == MISSING_BIN ? load<i32>(node, 16) != 0 : c <= load<i32>(node, 4);
    node = tree + <usize>(goLeft ? load<i32>(node, 8) : load<i32>(node, 12)) * NODE_BYTES;
    col = load<i32>(node);
  }
  return load<f64>(node, 24);
}
