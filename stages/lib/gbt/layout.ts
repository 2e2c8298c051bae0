/**
 * The numbers shared with the boosted-trees WebAssembly module: word offsets of the training
 * context, the job header and the task records. They must match wasm/gbt/assembly/layout.ts.
 */

/** Context words (int32), then float64 fields at byte offsets. */
export const X = {
  n: 0,
  numHist: 1,
  codes: 2,
  gh: 3,
  scores: 4,
  labels: 5,
  weights: 6,
  rows: 7,
  scratch: 8,
  histCols: 9,
  numBins: 10,
  splits: 11,
  minExamples: 12,
  blockRows: 13,
  rowCodes: 14,
  tmpGh: 15,
  tmpCodes: 16,
  rootCounts: 17,
} as const;
export const XD_L2 = 96;
export const XD_MIN_HESS = 104;
export const CTX_BYTES = 128;

export const J = {
  kind: 0,
  taskPtr: 3,
  walkTree: 4,
  prevMask: 5,
  curMask: 6,
  blockOut: 7,
  resetRows: 8,
} as const;
export const JOB_BYTES = 64;

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
/** Byte offset of a task record's float64 fields. */
export const TD = 64;

export const HT = {
  start: 0,
  end: 1,
  smallSlot: 2,
  largeSlot: 3,
  f0: 4,
  f1: 5,
  smallOut: 6,
  largeOut: 7,
  smallCount: 8,
  largeCount: 9,
  rootCounts: 10,
  partials: 11,
  partialCount: 12,
} as const;
export const BT = { start: 0, end: 1, slot: 2, counted: 3, f0: 4, f1: 5 } as const;
/**
 * Rows per histogram-building task for a training set of n rows: a power of two near n/64, from
 * 4096 to 16384. It depends on n only, never on the thread count: a node's histograms are the sum
 * of its blocks' in block order, the same for any thread count. Small blocks keep both threads
 * busy to the end of a job (on 1M x 20, 16384-row blocks made the building ~12% shorter on two
 * threads than 65536-row ones, and no longer on one) and give a small set (the dark-matter
 * training set, 15,687 rows) whole blocks to share, where splitting a block's features instead
 * repeats each row's fixed costs per range; adding partial histograms is what bounds them below.
 */
export function histBlockRows(n: number): number {
  let rows = 4096;
  while (rows < 16384 && rows * 64 <= n) rows *= 2;
  return rows;
}
export const ROOT_COUNTS_SAVE = 1;
export const ROOT_COUNTS_REUSE = 2;
export const HTD = { smallG: 0, smallH: 1, largeG: 2, largeH: 3 } as const;

export const PT = {
  start: 0,
  end: 1,
  col: 2,
  bin: 3,
  missingLeft: 4,
  mid: 5,
  dstLeft: 6,
  dstRight: 7,
} as const;
/** Rows per task of a partition that threads share (nodes this large or larger are split). */
export const PARTITION_BLOCK_ROWS = 65536;
/** Split-apply tasks: partition fields plus the two leaf values (float64). */
export const PTD = { leftValue: 0, rightValue: 1 } as const;

/** Binning task (binning.ts `binInThreads`): int32 words, then float64 fields at TD. */
export const BN = { values: 0, start: 1, end: 2, out: 3, edges: 4, count: 5, below: 6 } as const;
export const BND = { first: 0, last: 1, scale: 2 } as const;
/** Rows per binning task. */
export const BIN_BLOCK_ROWS = 65536;

export const AT = { start: 0, end: 1 } as const;
export const ATD = { value: 0 } as const;

export const FEATURE_HIST_BYTES = 5120;
export const SPLIT_BYTES = 48;
export const NODE_BYTES = 32;
/** Per gradient block: float64 loss sum, gradient sum, hessian sum, padding. */
export const BLOCK_OUT_BYTES = 32;
/**
 * Rows per gradient task. Fixed (never derived from the thread count), so the loss and root
 * totals, summed per block and then over blocks in order, are the same for any thread count.
 */
export const BLOCK_ROWS = 8192;
