// The histogram job: one task per (node, range of features). A task builds the histograms of the
// node's smaller child from its rows, turns the parent's histograms into the larger child's by
// subtraction, and scans both children for their best split on each feature of the range. Every
// (node, feature) histogram is summed by one task in row order, so the result never depends on
// which thread ran which task.

import {
  dbl,
  ptr,
  word,
  COUNT_OFFSET,
  FEATURE_HIST_BYTES,
  HD_LARGE_G,
  HD_LARGE_H,
  HD_SMALL_G,
  HD_SMALL_H,
  H_END,
  H_F0,
  H_F1,
  H_LARGE_COUNT,
  H_LARGE_OUT,
  H_LARGE_SLOT,
  H_PARTIALS,
  H_PARTIAL_COUNT,
  H_ROOT_COUNTS,
  B_COUNTED,
  B_END,
  B_SLOT,
  B_F0,
  B_F1,
  B_START,
  H_SMALL_COUNT,
  H_SMALL_OUT,
  H_SMALL_SLOT,
  H_START,
  MISSING_BIN,
  ROOT_COUNTS_REUSE,
  ROOT_COUNTS_SAVE,
  SPLIT_BYTES,
  XD_L2,
  XD_MIN_HESS,
  X_BLOCK_ROWS,
  X_CODES,
  X_ROOT_COUNTS,
  X_ROW_CODES,
  X_TMP_CODES,
  X_TMP_GH,
  X_GH,
  X_HIST_COLS,
  X_MIN_EXAMPLES,
  X_N,
  X_NUM_BINS,
  X_NUM_HIST,
  X_ROWS,
  X_SPLITS,
} from "./layout";

const FH = <usize>FEATURE_HIST_BYTES;
const COUNTS = <usize>COUNT_OFFSET;

function accumulate(h: usize, b: usize, v: v128): void {
  const p = h + (b << 4);
  v128.store(p, f64x2.add(v128.load(p), v));
  const q = h + COUNT_OFFSET + (b << 2);
  store<i32>(q, load<i32>(q) + 1);
}

/** accumulate() without the row count, for the root when its counts are known. */
function accumulateSums(h: usize, b: usize, v: v128): void {
  const p = h + (b << 4);
  v128.store(p, f64x2.add(v128.load(p), v));
}

/**
 * Histograms of features [f0, f1) (hist indices) over rows[start, end), into hist (zeroed), from
 * the row-major codes: a row's codes share a cache line, so a row costs one memory access, not
 * one per feature.
 */
function build(ctx: usize, start: i32, end: i32, f0: i32, f1: i32, hist: usize, counted: bool): void {
  const stride = <usize>word(ctx, X_NUM_HIST);
  const rows = ptr(ctx, X_ROWS);
  let gh = ptr(ctx, X_GH);
  let codes = ptr(ctx, X_ROW_CODES);
  let codeStride = stride;
  let sequential = false;
  // The rows of a small node are scattered over the whole table: each row's codes and gradient
  // pair is a cache miss, and a loop doing twenty histogram updates per row keeps only a couple of
  // misses in flight. Copying the node's rows first (a short loop, many misses in flight) and then
  // building from the copy is two to three times faster there. Only tasks covering all features
  // copy, so no two tasks ever write the same bytes.
  if (f0 == 0 && f1 == word(ctx, X_NUM_HIST) && (end - start) * 4 < word(ctx, X_N)) {
    const tmpGh = ptr(ctx, X_TMP_GH);
    const tmpCodes = ptr(ctx, X_TMP_CODES);
    const padded = (stride + 15) & ~15;
    for (let k = start; k < end; k++) {
      const r = <usize>load<u32>(rows + ((<usize>k) << 2));
      v128.store(tmpGh + ((<usize>k) << 4), v128.load(gh + (r << 4)));
      const src = codes + r * stride;
      const dst = tmpCodes + <usize>k * padded;
      for (let o: usize = 0; o < padded; o += 16) v128.store(dst + o, v128.load(src + o));
    }
    gh = tmpGh;
    codes = tmpCodes;
    codeStride = padded;
    sequential = true;
  }
  const h0 = hist + <usize>f0 * FH;
  const quads = (f1 - f0) >> 2;
  const rest = (f1 - f0) & 3;
  if (counted) {
    for (let k = start; k < end; k++) {
      const r = sequential ? <usize>k : <usize>load<u32>(rows + ((<usize>k) << 2));
      const v = v128.load(gh + (r << 4));
      let c = codes + r * codeStride + <usize>f0;
      let h = h0;
      for (let q = 0; q < quads; q++) {
        accumulate(h, <usize>load<u8>(c), v);
        accumulate(h + FH, <usize>load<u8>(c, 1), v);
        accumulate(h + 2 * FH, <usize>load<u8>(c, 2), v);
        accumulate(h + 3 * FH, <usize>load<u8>(c, 3), v);
        c += 4;
        h += 4 * FH;
      }
      for (let q = 0; q < rest; q++) {
        accumulate(h, <usize>load<u8>(c), v);
        c += 1;
        h += FH;
      }
    }
  } else {
    for (let k = start; k < end; k++) {
      const r = sequential ? <usize>k : <usize>load<u32>(rows + ((<usize>k) << 2));
      const v = v128.load(gh + (r << 4));
      let c = codes + r * codeStride + <usize>f0;
      let h = h0;
      for (let q = 0; q < quads; q++) {
        accumulateSums(h, <usize>load<u8>(c), v);
        accumulateSums(h + FH, <usize>load<u8>(c, 1), v);
        accumulateSums(h + 2 * FH, <usize>load<u8>(c, 2), v);
        accumulateSums(h + 3 * FH, <usize>load<u8>(c, 3), v);
        c += 4;
        h += 4 * FH;
      }
      for (let q = 0; q < rest; q++) {
        accumulateSums(h, <usize>load<u8>(c), v);
        c += 1;
        h += FH;
      }
    }
  }
}

/**
 * The transpose job: rows [b * blockRows, ...) of the column-major codes of the histogram
 * features, copied row-major (row r's codes at r * numHist).
 */
export function transposeTask(ctx: usize, block: i32): void {
  const n = word(ctx, X_N);
  const numHist = word(ctx, X_NUM_HIST);
  const blockRows = word(ctx, X_BLOCK_ROWS);
  const start = block * blockRows;
  const end = min(n, start + blockRows);
  const codes = ptr(ctx, X_CODES);
  const cols = ptr(ctx, X_HIST_COLS);
  // Row by row: the reads follow numHist sequential streams, the writes one.
  let o = ptr(ctx, X_ROW_CODES) + <usize>start * <usize>numHist;
  for (let r = start; r < end; r++) {
    for (let j = 0; j < numHist; j++) {
      const col = codes + <usize>load<i32>(cols + ((<usize>j) << 2)) * <usize>n;
      store<u8>(o, load<u8>(col + <usize>r));
      o++;
    }
  }
}

/** large -= small over features [f0, f1): the parent's histograms become the larger child's. */
function subtract(large: usize, small: usize, f0: i32, f1: i32): void {
  const from = <usize>f0 * FH;
  const to = <usize>f1 * FH;
  for (let o = from; o < to; o += FH) {
    for (let b: usize = 0; b < COUNTS; b += 16) {
      v128.store(large + o + b, f64x2.sub(v128.load(large + o + b), v128.load(small + o + b)));
    }
    for (let b: usize = COUNTS; b < FH; b += 16) {
      v128.store(large + o + b, i32x4.sub(v128.load(large + o + b), v128.load(small + o + b)));
    }
  }
}

/** Gain of a split with the given left side; -1 when a child breaks minExamples or the hessian floor. */
function gainOf(
  leftG: f64,
  leftH: f64,
  leftCount: i32,
  g: f64,
  h: f64,
  count: i32,
  minExamples: i32,
  l2: f64,
  minHess: f64,
  parentScore: f64,
): f64 {
  const rightCount = count - leftCount;
  if (leftCount < minExamples || rightCount < minExamples) return -1;
  const rightH = h - leftH;
  if (leftH < minHess || rightH < minHess) return -1;
  const rightG = g - leftG;
  return (leftG * leftG) / (leftH + l2) + (rightG * rightG) / (rightH + l2) - parentScore;
}

/**
 * Best split of one feature's histogram for a node with totals (g, h, count): bins 0..j go left,
 * missing values to the side that gains more (or, when the node has none, to the side with more
 * rows). Only gains above 0 count; the first bin reaching the best gain wins (missing right before
 * missing left). Writes (gain, bin, missingLeft, left gradient sum, left hessian sum, left row
 * count); gain 0 and bin -1 when nothing qualifies.
 */
function scan(ctx: usize, hist: usize, numBins: i32, g: f64, h: f64, count: i32, out: usize): void {
  const minExamples = word(ctx, X_MIN_EXAMPLES);
  const l2 = load<f64>(ctx, XD_L2);
  const minHess = load<f64>(ctx, XD_MIN_HESS);
  const parentScore = (g * g) / (h + l2);
  const missG = load<f64>(hist + ((<usize>MISSING_BIN) << 4));
  const missH = load<f64>(hist + ((<usize>MISSING_BIN) << 4), 8);
  const missCount = load<i32>(hist + COUNT_OFFSET + ((<usize>MISSING_BIN) << 2));
  // With missing values, "all values left, missing right" (bin numBins - 1) is a split too.
  const lastBin = missCount > 0 ? numBins - 1 : numBins - 2;
  let bestGain: f64 = 0;
  let bestBin = -1;
  let bestMissingLeft = 0;
  let bestG: f64 = 0;
  let bestH: f64 = 0;
  let bestCount = 0;
  let cumG: f64 = 0;
  let cumH: f64 = 0;
  let cumCount = 0;
  for (let j = 0; j <= lastBin; j++) {
    const p = hist + ((<usize>j) << 4);
    cumG += load<f64>(p);
    cumH += load<f64>(p, 8);
    cumCount += load<i32>(hist + COUNT_OFFSET + ((<usize>j) << 2));
    if (missCount > 0) {
      const g1 = gainOf(cumG, cumH, cumCount, g, h, count, minExamples, l2, minHess, parentScore);
      if (g1 > bestGain) {
        bestGain = g1;
        bestBin = j;
        bestMissingLeft = 0;
        bestG = cumG;
        bestH = cumH;
        bestCount = cumCount;
      }
      if (j < numBins - 1) {
        const g2 = gainOf(
          cumG + missG,
          cumH + missH,
          cumCount + missCount,
          g,
          h,
          count,
          minExamples,
          l2,
          minHess,
          parentScore,
        );
        if (g2 > bestGain) {
          bestGain = g2;
          bestBin = j;
          bestMissingLeft = 1;
          bestG = cumG + missG;
          bestH = cumH + missH;
          bestCount = cumCount + missCount;
        }
      }
    } else {
      const g0 = gainOf(cumG, cumH, cumCount, g, h, count, minExamples, l2, minHess, parentScore);
      if (g0 > bestGain) {
        bestGain = g0;
        bestBin = j;
        // No missing values here: send future ones to the side that saw more rows.
        bestMissingLeft = cumCount >= count - cumCount ? 1 : 0;
        bestG = cumG;
        bestH = cumH;
        bestCount = cumCount;
      }
    }
  }
  store<f64>(out, bestGain);
  store<i32>(out, bestBin, 8);
  store<i32>(out, bestMissingLeft, 12);
  store<f64>(out, bestG, 16);
  store<f64>(out, bestH, 24);
  store<i32>(out, bestCount, 32);
}

/**
 * The histogram-building job: one task per block of at most `histBlockRows(n)` rows of a node (a
 * fixed size, never derived from the thread count) and range of features, building into a slot:
 * the node's own when it has one block, else a partial one that the histogram job adds up.
 */
export function buildTask(ctx: usize, task: usize): void {
  const slot = ptr(task, B_SLOT);
  const f0 = word(task, B_F0);
  const f1 = word(task, B_F1);
  memory.fill(slot + <usize>f0 * FH, 0, <usize>(f1 - f0) * FH);
  build(ctx, word(task, B_START), word(task, B_END), f0, f1, slot, word(task, B_COUNTED) != 0);
}

/** hist = sum of the partial histograms in order, over features [f0, f1). */
function addPartials(hist: usize, partials: usize, count: i32, f0: i32, f1: i32): void {
  const from = <usize>f0 * FH;
  const bytes = <usize>(f1 - f0) * FH;
  memory.copy(hist + from, <usize>load<u32>(partials) + from, bytes);
  for (let i = 1; i < count; i++) {
    const p = <usize>load<u32>(partials + ((<usize>i) << 2));
    for (let o = from; o < from + bytes; o += FH) {
      for (let b: usize = 0; b < COUNTS; b += 16) {
        v128.store(hist + o + b, f64x2.add(v128.load(hist + o + b), v128.load(p + o + b)));
      }
      for (let b: usize = COUNTS; b < FH; b += 16) {
        v128.store(hist + o + b, i32x4.add(v128.load(hist + o + b), v128.load(p + o + b)));
      }
    }
  }
}

/**
 * The histogram job, after the building job: per (node, range of features), the smaller child's
 * histograms (its partial ones added up in block order), the larger child's by subtraction from
 * the parent's, and the best split of each child on each feature of the range.
 */
export function histogramTask(ctx: usize, task: usize): void {
  const f0 = word(task, H_F0);
  const f1 = word(task, H_F1);
  const small = ptr(task, H_SMALL_SLOT);
  const large = ptr(task, H_LARGE_SLOT);
  const partialCount = word(task, H_PARTIAL_COUNT);
  if (partialCount > 0) addPartials(small, ptr(task, H_PARTIALS), partialCount, f0, f1);
  // The root's row counts are the same for every tree when every row is used: counted once,
  // then copied (counting is a third of a histogram update).
  const rootCounts = word(task, H_ROOT_COUNTS);
  const cache = ptr(ctx, X_ROOT_COUNTS);
  for (let f = f0; f < f1; f++) {
    const counts = small + <usize>f * FH + COUNTS;
    const cached = cache + ((<usize>f) << 10);
    if (rootCounts == ROOT_COUNTS_SAVE) memory.copy(cached, counts, 1024);
    else if (rootCounts == ROOT_COUNTS_REUSE) memory.copy(counts, cached, 1024);
  }
  if (large != 0) subtract(large, small, f0, f1);
  const numHist = word(ctx, X_NUM_HIST);
  const numBins = ptr(ctx, X_NUM_BINS);
  const splits = ptr(ctx, X_SPLITS);
  const smallOut = word(task, H_SMALL_OUT);
  const largeOut = word(task, H_LARGE_OUT);
  for (let f = f0; f < f1; f++) {
    const nb = load<i32>(numBins + ((<usize>f) << 2));
    if (smallOut >= 0) {
      const out = splits + <usize>(smallOut * numHist + f) * SPLIT_BYTES;
      scan(
        ctx,
        small + <usize>f * FH,
        nb,
        dbl(task, HD_SMALL_G),
        dbl(task, HD_SMALL_H),
        word(task, H_SMALL_COUNT),
        out,
      );
    }
    if (largeOut >= 0) {
      const out = splits + <usize>(largeOut * numHist + f) * SPLIT_BYTES;
      scan(
        ctx,
        large + <usize>f * FH,
        nb,
        dbl(task, HD_LARGE_G),
        dbl(task, HD_LARGE_H),
        word(task, H_LARGE_COUNT),
        out,
      );
    }
  }
}
