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
  H_SMALL_COUNT,
  H_SMALL_OUT,
  H_SMALL_SLOT,
  H_START,
  MISSING_BIN,
  SPLIT_BYTES,
  XD_L2,
  XD_MIN_HESS,
  X_CODES,
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

/** Histograms of features [f0, f1) (hist indices) over rows[start, end), into hist (zeroed). */
function build(ctx: usize, start: i32, end: i32, f0: i32, f1: i32, hist: usize): void {
  const n = <usize>word(ctx, X_N);
  const codes = ptr(ctx, X_CODES);
  const gh = ptr(ctx, X_GH);
  const rows = ptr(ctx, X_ROWS);
  const cols = ptr(ctx, X_HIST_COLS);
  const r0 = rows + ((<usize>start) << 2);
  const r1 = rows + ((<usize>end) << 2);
  let f = f0;
  // Four features per pass over the rows: the row index and its (gradient, hessian) pair are
  // loaded once for four histogram updates.
  for (; f + 4 <= f1; f += 4) {
    const c0 = codes + <usize>load<i32>(cols + ((<usize>f) << 2)) * n;
    const c1 = codes + <usize>load<i32>(cols + ((<usize>f) << 2), 4) * n;
    const c2 = codes + <usize>load<i32>(cols + ((<usize>f) << 2), 8) * n;
    const c3 = codes + <usize>load<i32>(cols + ((<usize>f) << 2), 12) * n;
    const h0 = hist + <usize>f * FH;
    for (let p = r0; p < r1; p += 4) {
      const r = <usize>load<u32>(p);
      const v = v128.load(gh + (r << 4));
      accumulate(h0, <usize>load<u8>(c0 + r), v);
      accumulate(h0 + FH, <usize>load<u8>(c1 + r), v);
      accumulate(h0 + 2 * FH, <usize>load<u8>(c2 + r), v);
      accumulate(h0 + 3 * FH, <usize>load<u8>(c3 + r), v);
    }
  }
  for (; f + 2 <= f1; f += 2) {
    const c0 = codes + <usize>load<i32>(cols + ((<usize>f) << 2)) * n;
    const c1 = codes + <usize>load<i32>(cols + ((<usize>f) << 2), 4) * n;
    const h0 = hist + <usize>f * FH;
    for (let p = r0; p < r1; p += 4) {
      const r = <usize>load<u32>(p);
      const v = v128.load(gh + (r << 4));
      accumulate(h0, <usize>load<u8>(c0 + r), v);
      accumulate(h0 + FH, <usize>load<u8>(c1 + r), v);
    }
  }
  for (; f < f1; f++) {
    const c0 = codes + <usize>load<i32>(cols + ((<usize>f) << 2)) * n;
    const h0 = hist + <usize>f * FH;
    for (let p = r0; p < r1; p += 4) {
      const r = <usize>load<u32>(p);
      accumulate(h0, <usize>load<u8>(c0 + r), v128.load(gh + (r << 4)));
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
 * missing left). Writes (gain, bin, missingLeft); gain 0 and bin -1 when nothing qualifies.
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
        }
      }
    } else {
      const g0 = gainOf(cumG, cumH, cumCount, g, h, count, minExamples, l2, minHess, parentScore);
      if (g0 > bestGain) {
        bestGain = g0;
        bestBin = j;
        // No missing values here: send future ones to the side that saw more rows.
        bestMissingLeft = cumCount >= count - cumCount ? 1 : 0;
      }
    }
  }
  store<f64>(out, bestGain);
  store<i32>(out, bestBin, 8);
  store<i32>(out, bestMissingLeft, 12);
}

export function histogramTask(ctx: usize, task: usize): void {
  const f0 = word(task, H_F0);
  const f1 = word(task, H_F1);
  const small = ptr(task, H_SMALL_SLOT);
  const large = ptr(task, H_LARGE_SLOT);
  memory.fill(small + <usize>f0 * FH, 0, <usize>(f1 - f0) * FH);
  build(ctx, word(task, H_START), word(task, H_END), f0, f1, small);
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
