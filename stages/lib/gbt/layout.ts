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
 * Rows per histogram-building task. Fixed (never derived from the thread count): a larger node's
 * histograms are the sum of its blocks' in block order, the same for any thread count.
 */
export const HIST_BLOCK_ROWS = 65536;
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
