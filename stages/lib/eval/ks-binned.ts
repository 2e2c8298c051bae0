/**
 * The binned overtraining tests, given the bin range:
 *
 * - `cumulative` (ROOT `TH1::KolmogorovTest`, as TMVA reports it): D between the two normalised
 *   cumulative histograms, p from the Kolmogorov distribution (binnedKs in ks.ts);
 * - `bin_heights` (GRADnet's `plot_overfittingCheck`): the train sample histogrammed as
 *   `np.histogram(x, bins, range=(lo, hi), weights=w/(1−f))`, the test sample as
 *   `np.histogram(x, bins=<those edges>, weights=w/f)`, then `scipy.stats.ks_2samp` on the two
 *   lists of bin heights. That compares how the bin heights are distributed, not the responses.
 *
 * Values outside the range are dropped (numpy.histogram does so) or clamped into the first / last
 * bin. Both histograms follow numpy's own arithmetic: equal-width bins by index with its edge
 * corrections and per-block sums; explicit edges by differences of the cumulative weight sums of the
 * sorted values (which is how numpy "drops" the values below the first edge).
 */
import { binnedKs, ks2samp, linspace, type KsMethod } from "./ks.js";
import { argsort } from "./sort.js";

export type BinnedCompare = "cumulative" | "bin_heights";
export type Outside = "drop" | "clamp";

/** numpy.histogram processes the data in blocks of this many values. */
const BLOCK = 65536;

export interface BinnedOptions {
  compare: BinnedCompare;
  /** Train weights are divided by 1 − f and test weights by f (the notebook's test_size); none: 1. */
  testFraction: number | undefined;
  outside: Outside;
  /** p-value method of ks_2samp for `bin_heights`. */
  method: KsMethod;
}

export interface BinnedResult {
  statistic: number;
  pvalue: number;
  edges: Float64Array;
  countsTrain: Float64Array;
  countsTest: Float64Array;
  /** Events outside [lo, hi] (dropped or clamped), with their summed (scaled) weight. */
  outsideTrain: { n: number; weight: number };
  outsideTest: { n: number; weight: number };
  /** The p-value's method: the Kolmogorov limit (cumulative) or ks_2samp's (bin_heights). */
  pvalueMethod: string;
}

/** numpy.histogram's edges for `bins` equal bins on [lo, hi] (lo = hi widens to ± 0.5). */
export function histogramEdges(lo: number, hi: number, bins: number): Float64Array {
  if (lo === hi) return linspace(lo - 0.5, hi + 0.5, bins + 1);
  return linspace(lo, hi, bins + 1);
}

/**
 * `np.histogram(x, bins, range=(edges[0], edges[-1]), weights=w)`: the equal-width path. Values
 * outside the range are skipped; each block's bin sums are added to the total, as numpy's bincount
 * per block does.
 */
export function histogramUniform(
  x: Float64Array,
  w: Float64Array | undefined,
  edges: Float64Array,
): Float64Array {
  const bins = edges.length - 1;
  const lo = edges[0]!;
  const hi = edges[bins]!;
  const norm = bins / (hi - lo);
  const out = new Float64Array(bins);
  const block = new Float64Array(bins);
  for (let start = 0; start < x.length; start += BLOCK) {
    block.fill(0);
    const end = Math.min(x.length, start + BLOCK);
    for (let i = start; i < end; i++) {
      const v = x[i]!;
      if (!(v >= lo && v <= hi)) continue;
      let k = Math.trunc((v - lo) * norm);
      if (k === bins) k--;
      if (v < edges[k]!) k--;
      if (k !== bins - 1 && v >= edges[k + 1]!) k++;
      block[k]! += w ? w[i]! : 1;
    }
    for (let k = 0; k < bins; k++) out[k]! += block[k]!;
  }
  return out;
}

/** a.searchsorted(v, side) for sorted a. */
function searchSorted(a: Float64Array, v: number, side: "left" | "right"): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (side === "left" ? a[mid]! < v : a[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `np.histogram(x, bins=edges, weights=w)`: per block, the values sorted, the cumulative sums of
 * their weights read at the edges (left side, the last edge right side), the bin contents their
 * differences. Values outside the edges drop out of the differences.
 */
export function histogramAtEdges(
  x: Float64Array,
  w: Float64Array | undefined,
  edges: Float64Array,
): Float64Array {
  const nEdges = edges.length;
  const cum = new Float64Array(nEdges);
  for (let start = 0; start < x.length; start += BLOCK) {
    const end = Math.min(x.length, start + BLOCK);
    const part = x.subarray(start, end);
    const order = argsort(part);
    const sorted = Float64Array.from(order, (i) => part[i]!);
    const cw = new Float64Array(sorted.length + 1);
    for (let j = 0; j < sorted.length; j++) cw[j + 1] = cw[j]! + (w ? w[start + order[j]!]! : 1);
    for (let e = 0; e < nEdges; e++) {
      const idx = searchSorted(sorted, edges[e]!, e === nEdges - 1 ? "right" : "left");
      cum[e]! += cw[idx]!;
    }
  }
  const out = new Float64Array(nEdges - 1);
  for (let k = 0; k < nEdges - 1; k++) out[k] = cum[k + 1]! - cum[k]!;
  return out;
}

/** Weights divided by a scale, event by event (as `weights / (1 - test_size)` in numpy). */
function scaled(
  n: number,
  w: Float64Array | undefined,
  divisor: number | undefined,
): Float64Array | undefined {
  if (divisor === undefined) return w;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (w ? w[i]! : 1) / divisor;
  return out;
}

/** How many values (and how much weight) lie outside [lo, hi]; with clamp, the clamped copy. */
function outsideOf(
  x: Float64Array,
  w: Float64Array | undefined,
  lo: number,
  hi: number,
  outside: Outside,
): { x: Float64Array; n: number; weight: number } {
  let n = 0;
  let weight = 0;
  let clamped: Float64Array | undefined;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v >= lo && v <= hi) continue;
    n++;
    weight += w ? w[i]! : 1;
    if (outside === "clamp") {
      clamped ??= x.slice();
      clamped[i] = v < lo ? lo : hi;
    }
  }
  return { x: clamped ?? x, n, weight };
}

/** Both binned tests on one class: train (x, w) against test (x, w) in the bins `edges`. */
export function binnedTest(
  train: { x: Float64Array; w: Float64Array | undefined },
  test: { x: Float64Array; w: Float64Array | undefined },
  edges: Float64Array,
  o: BinnedOptions,
): BinnedResult {
  const f = o.testFraction;
  const wTrain = scaled(train.x.length, train.w, f === undefined ? undefined : 1 - f);
  const wTest = scaled(test.x.length, test.w, f);
  const a = outsideOf(train.x, wTrain, edges[0]!, edges[edges.length - 1]!, o.outside);
  const b = outsideOf(test.x, wTest, edges[0]!, edges[edges.length - 1]!, o.outside);
  const outsideTrain = { n: a.n, weight: a.weight };
  const outsideTest = { n: b.n, weight: b.weight };
  if (o.compare === "cumulative") {
    // ROOT ignores under/overflow: dropped values leave the effective sizes too.
    const keep = (s: { x: Float64Array }, w: Float64Array | undefined) => {
      if (o.outside === "clamp") return { x: s.x, w };
      const idx: number[] = [];
      for (let i = 0; i < s.x.length; i++)
        if (s.x[i]! >= edges[0]! && s.x[i]! <= edges[edges.length - 1]!) idx.push(i);
      return {
        x: Float64Array.from(idx, (i) => s.x[i]!),
        w: w ? Float64Array.from(idx, (i) => w[i]!) : undefined,
      };
    };
    const ka = keep(a, wTrain);
    const kb = keep(b, wTest);
    const r = binnedKs(ka.x, ka.w, kb.x, kb.w, edges);
    return {
      statistic: r.statistic,
      pvalue: r.pvalue,
      edges,
      countsTrain: r.countsA,
      countsTest: r.countsB,
      outsideTrain,
      outsideTest,
      pvalueMethod: "kolmogorov",
    };
  }
  const countsTrain = histogramUniform(a.x, wTrain, edges);
  const countsTest = histogramAtEdges(b.x, wTest, edges);
  const r = ks2samp(countsTrain.slice().sort(), countsTest.slice().sort(), o.method);
  return {
    statistic: r.statistic,
    pvalue: r.pvalue,
    edges,
    countsTrain,
    countsTest,
    outsideTrain,
    outsideTest,
    pvalueMethod: r.method,
  };
}
