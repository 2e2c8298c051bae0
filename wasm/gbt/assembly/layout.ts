// Word layout of the blocks the host (stages/lib/gbt/) writes into linear memory: the training
// context, a job header and its task records. stages/lib/gbt/layout.ts holds the same numbers and
// must stay in step with this file.

// Context (i32 words 0..23, then f64 at byte 96): written once per training.
export const X_N = 0;
export const X_NUM_HIST = 1;
export const X_CODES = 2;
export const X_GH = 3;
export const X_SCORES = 4;
export const X_LABELS = 5;
export const X_WEIGHTS = 6;
export const X_ROWS = 7;
export const X_SCRATCH = 8;
export const X_HIST_COLS = 9;
export const X_NUM_BINS = 10;
export const X_SPLITS = 11;
export const X_MIN_EXAMPLES = 12;
export const X_BLOCK_ROWS = 13;
/** Codes of the histogram features, row-major: row r's at r * numHist. */
export const X_ROW_CODES = 14;
/** Copies of small nodes' gradient pairs (16 bytes per row position) and row-major codes (rows padded to 16 bytes). */
export const X_TMP_GH = 15;
export const X_TMP_CODES = 16;
/** The root's row counts per histogram feature (256 i32 each), when they are reused. */
export const X_ROOT_COUNTS = 17;
export const XD_L2 = 96;
export const XD_MIN_HESS = 104;

// Job header (i32 words).
export const J_KIND = 0;
export const J_TASK_PTR = 3;
/** Gradient job: the previous tree (bin form) to add to rows outside its sample, or 0. */
export const J_WALK_TREE = 4;
/** Gradient job: 1 byte per row, 1 when the row was in the previous tree's sample. */
export const J_PREV_MASK = 5;
/** Gradient job: 1 byte per row, 1 when the row is in the next tree's sample (0: every row). */
export const J_CUR_MASK = 6;
/** Gradient job: per block, f64 loss sum, gradient sum, hessian sum (sampled rows), pad. */
export const J_BLOCK_OUT = 7;
/** Gradient job: 1 to reset the row array to 0..n-1 (every row in the next tree, ascending). */
export const J_RESET_ROWS = 8;

export const KIND_GRADIENTS = 1;
export const KIND_HISTOGRAMS = 2;
export const KIND_PARTITION = 3;
export const KIND_APPLY = 4;
export const KIND_TRANSPOSE = 5;
export const KIND_HIST_BUILD = 6;
export const KIND_SPLIT_APPLY = 7;
export const KIND_PARTITION_BLOCK = 8;
export const KIND_PARTITION_MERGE = 9;
export const KIND_BIN = 10;

export const TASK_BYTES = 128;
/** f64 fields of a task record start here. */
export const TD = 64;

// Histogram task.
export const H_START = 0;
export const H_END = 1;
export const H_SMALL_SLOT = 2;
export const H_LARGE_SLOT = 3;
export const H_F0 = 4;
export const H_F1 = 5;
export const H_SMALL_OUT = 6;
export const H_LARGE_OUT = 7;
export const H_SMALL_COUNT = 8;
export const H_LARGE_COUNT = 9;
/** 0: count rows; ROOT_COUNTS_SAVE: count and keep the counts; ROOT_COUNTS_REUSE: copy them. */
export const H_ROOT_COUNTS = 10;
export const ROOT_COUNTS_SAVE = 1;
export const ROOT_COUNTS_REUSE = 2;
/** The smaller child's partial histograms (i32 addresses, in block order) and their number (0: built in place). */
export const H_PARTIALS = 11;
export const H_PARTIAL_COUNT = 12;

// Histogram-building task.
export const B_START = 0;
export const B_END = 1;
export const B_SLOT = 2;
/** 0 when the root's cached row counts will be copied in instead. */
export const B_COUNTED = 3;
/** Histogram features [f0, f1) of the block. */
export const B_F0 = 4;
export const B_F1 = 5;
export const HD_SMALL_G = 0;
export const HD_SMALL_H = 1;
export const HD_LARGE_G = 2;
export const HD_LARGE_H = 3;

// Partition task.
export const P_START = 0;
export const P_END = 1;
export const P_COL = 2;
export const P_BIN = 3;
export const P_MISSING_LEFT = 4;
export const P_MID = 5;
/** Partition merge task: where the block's left and right rows go. */
export const P_DST_LEFT = 6;
export const P_DST_RIGHT = 7;
/** Split-apply task (partition fields): the leaf values of the two children, left then right. */
export const PD_LEFT_VALUE = 0;

// Binning task: the values at [values + 8 start, values + 8 end) (float64) to bin codes at
// out + start…; the column's edges (float64, count of them) and, when below != 0, its bucket table
// (BIN_BUCKETS + 1 bytes, stages/lib/gbt/binning.ts) with the buckets' first edge, last edge, scale.
export const BN_VALUES = 0;
export const BN_START = 1;
export const BN_END = 2;
export const BN_OUT = 3;
export const BN_EDGES = 4;
export const BN_COUNT = 5;
export const BN_BELOW = 6;
export const BND_FIRST = 0;
export const BND_LAST = 1;
export const BND_SCALE = 2;
export const BIN_BUCKETS = 4096;

// Apply task: add a leaf value to the scores of rows[start, end).
export const A_START = 0;
export const A_END = 1;
export const AD_VALUE = 0;

/** Histogram of one feature: 256 (gradient, hessian) f64 pairs, then 256 i32 row counts. */
export const FEATURE_HIST_BYTES = 5120;
export const COUNT_OFFSET = 4096;
export const MISSING_BIN = 255;

/** One split candidate per (node, feature): f64 gain, i32 bin, i32 missing-left, f64 left gradient and hessian sums, i32 left rows. */
export const SPLIT_BYTES = 48;

/** A node of a tree in bin form, for walking rows: i32 column (-1 leaf), bin, left, right, missing-left, pad; f64 value. */
export const NODE_BYTES = 32;

export function word(p: usize, i: i32): i32 {
  return load<i32>(p + ((<usize>i) << 2));
}

export function ptr(p: usize, i: i32): usize {
  return <usize>load<u32>(p + ((<usize>i) << 2));
}

export function setWord(p: usize, i: i32, v: i32): void {
  store<i32>(p + ((<usize>i) << 2), v);
}

export function dbl(p: usize, i: i32): f64 {
  return load<f64>(p + TD + ((<usize>i) << 3));
}

export function setDbl(p: usize, i: i32, v: f64): void {
  store<f64>(p + TD + ((<usize>i) << 3), v);
}
