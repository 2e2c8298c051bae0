// Row bookkeeping: the stable partition of a node's rows (in place, with a scratch array at the
// same offsets so concurrent nodes never touch each other's memory), leaf values added to scores,
// and the walk of one row down a tree in bin form.

import {
  dbl,
  ptr,
  setWord,
  word,
  MISSING_BIN,
  TD,
  NODE_BYTES,
  P_BIN,
  P_COL,
  P_END,
  P_MID,
  P_DST_LEFT,
  P_DST_RIGHT,
  P_MISSING_LEFT,
  PD_LEFT_VALUE,
  P_START,
  A_END,
  A_START,
  AD_VALUE,
  X_CODES,
  X_N,
  X_ROWS,
  X_SCORES,
  X_SCRATCH,
} from "./layout";

/**
 * Splits rows[start, end) into the rows going left, in their order, then those going right, in
 * theirs.
 */
export function partitionTask(ctx: usize, task: usize): void {
  const n = word(ctx, X_N);
  const rows = ptr(ctx, X_ROWS);
  const scratch = ptr(ctx, X_SCRATCH);
  const start = word(task, P_START);
  const end = word(task, P_END);
  const col = ptr(ctx, X_CODES) + <usize>word(task, P_COL) * <usize>n;
  const bin = word(task, P_BIN);
  const missingLeft = word(task, P_MISSING_LEFT);
  let left = rows + ((<usize>start) << 2);
  let right = scratch + ((<usize>start) << 2);
  for (let k = start; k < end; k++) {
    const r = load<u32>(rows + ((<usize>k) << 2));
    const c = <i32>load<u8>(col + <usize>r);
    const goLeft = select<i32>(missingLeft, <i32>(c <= bin), c == MISSING_BIN);
    // Branch-free: write the row to both sides, advance one of them.
    store<u32>(left, r);
    store<u32>(right, r);
    left += (<usize>goLeft) << 2;
    right += (<usize>(1 - goLeft)) << 2;
  }
  const mid = <i32>((left - rows) >> 2);
  const spill = right - (scratch + ((<usize>start) << 2));
  memory.copy(left, scratch + ((<usize>start) << 2), spill);
  setWord(task, P_MID, mid);
}

/**
 * One block of a large node's partition, for threads to share (the result is the same as
 * partitionTask's): the block's rows going left, in order, to scratch from the block's start, and
 * those going right, in reverse order, to scratch from its end; returns the left count in P_MID.
 */
export function partitionBlockTask(ctx: usize, task: usize): void {
  const n = word(ctx, X_N);
  const rows = ptr(ctx, X_ROWS);
  const scratch = ptr(ctx, X_SCRATCH);
  const start = word(task, P_START);
  const end = word(task, P_END);
  const col = ptr(ctx, X_CODES) + <usize>word(task, P_COL) * <usize>n;
  const bin = word(task, P_BIN);
  const missingLeft = word(task, P_MISSING_LEFT);
  let left = scratch + ((<usize>start) << 2);
  let right = scratch + ((<usize>end) << 2) - 4;
  for (let k = start; k < end; k++) {
    const r = load<u32>(rows + ((<usize>k) << 2));
    const c = <i32>load<u8>(col + <usize>r);
    const goLeft = select<i32>(missingLeft, <i32>(c <= bin), c == MISSING_BIN);
    // Both ends are written; the one that does not advance is overwritten later.
    store<u32>(left, r);
    store<u32>(right, r);
    left += (<usize>goLeft) << 2;
    right -= (<usize>(1 - goLeft)) << 2;
  }
  setWord(task, P_MID, <i32>((left - scratch) >> 2) - start);
}

/** Second half of a block partition: the block's left rows to rows[P_DST_LEFT..], its right rows to rows[P_DST_RIGHT..]. */
export function partitionMergeTask(ctx: usize, task: usize): void {
  const rows = ptr(ctx, X_ROWS);
  const scratch = ptr(ctx, X_SCRATCH);
  const start = word(task, P_START);
  const end = word(task, P_END);
  const nLeft = word(task, P_MID);
  memory.copy(
    rows + ((<usize>word(task, P_DST_LEFT)) << 2),
    scratch + ((<usize>start) << 2),
    (<usize>nLeft) << 2,
  );
  let dst = rows + ((<usize>word(task, P_DST_RIGHT)) << 2);
  for (let k = end - 1; k >= start + nLeft; k--) {
    store<u32>(dst, load<u32>(scratch + ((<usize>k) << 2)));
    dst += 4;
  }
}

/**
 * A split whose two children are leaves: adds the left or right leaf value to the score of each
 * row of the node, without reordering the rows (the partition and the leaf updates in one pass).
 * Writes the number of rows that went left to P_MID (histograms without row counts need it).
 */
export function splitApplyTask(ctx: usize, task: usize): void {
  const n = word(ctx, X_N);
  const rows = ptr(ctx, X_ROWS);
  const scores = ptr(ctx, X_SCORES);
  const col = ptr(ctx, X_CODES) + <usize>word(task, P_COL) * <usize>n;
  const bin = word(task, P_BIN);
  const missingLeft = word(task, P_MISSING_LEFT);
  // The two values side by side, picked by index: a branch on a coin-flip condition mispredicts.
  const values = task + TD + ((<usize>PD_LEFT_VALUE) << 3);
  const start = word(task, P_START);
  const end = word(task, P_END);
  let right = 0;
  for (let k = start; k < end; k++) {
    const r = <usize>load<u32>(rows + ((<usize>k) << 2));
    const c = <i32>load<u8>(col + r);
    const goRight = 1 - select<i32>(missingLeft, <i32>(c <= bin), c == MISSING_BIN);
    right += goRight;
    const p = scores + (r << 3);
    store<f64>(p, load<f64>(p) + load<f64>(values + ((<usize>goRight) << 3)));
  }
  setWord(task, P_MID, end - start - right);
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
