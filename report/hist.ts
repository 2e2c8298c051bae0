/** Weighted histograms for the report's plots: contents, Σw² errors, unit-area normalisation. */

export interface Histogram {
  readonly edges: Float64Array;
  readonly values: Float64Array;
  readonly errors: Float64Array;
  /** Σw of the entries inside the range (before normalisation). */
  readonly sumw: number;
  readonly entries: number;
}

export function uniformEdges(lo: number, hi: number, bins: number): Float64Array {
  const e = new Float64Array(bins + 1);
  for (let i = 0; i <= bins; i++) e[i] = lo + ((hi - lo) * i) / bins;
  return e;
}

/**
 * Fills `x[i]` with weight `w[i]` (1 when `w` is absent) for the rows where `select(i)` holds;
 * entries outside the edges are dropped. With `normalise`, contents become a density of unit area.
 */
export function histogram(
  x: ArrayLike<number>,
  edges: Float64Array,
  opts: { w?: ArrayLike<number>; select?: (i: number) => boolean; normalise?: boolean } = {},
): Histogram {
  const bins = edges.length - 1;
  const lo = edges[0]!;
  const hi = edges[bins]!;
  const width = (hi - lo) / bins;
  const sw = new Float64Array(bins);
  const sw2 = new Float64Array(bins);
  let entries = 0;
  for (let i = 0; i < x.length; i++) {
    if (opts.select && !opts.select(i)) continue;
    const v = x[i]!;
    if (!(v >= lo && v <= hi)) continue;
    const b = Math.min(bins - 1, Math.floor((v - lo) / width));
    const w = opts.w ? opts.w[i]! : 1;
    if (!Number.isFinite(w)) continue;
    sw[b] = sw[b]! + w;
    sw2[b] = sw2[b]! + w * w;
    entries++;
  }
  let sumw = 0;
  for (let b = 0; b < bins; b++) sumw += sw[b]!;
  const errors = new Float64Array(bins);
  for (let b = 0; b < bins; b++) errors[b] = Math.sqrt(sw2[b]!);
  if (opts.normalise && sumw !== 0) {
    const k = 1 / (sumw * width);
    for (let b = 0; b < bins; b++) {
      sw[b] = sw[b]! * k;
      errors[b] = errors[b]! * Math.abs(k);
    }
  }
  return { edges, values: sw, errors, sumw, entries };
}

/** The [q, 1−q] quantile range of the finite values (tails would squash the bulk of a plot). */
export function quantileRange(x: ArrayLike<number>, q: number): [number, number] {
  const v = Float64Array.from(x).filter(Number.isFinite);
  if (v.length === 0) return [0, 1];
  v.sort();
  const at = (f: number) => v[Math.min(v.length - 1, Math.max(0, Math.round(f * (v.length - 1))))]!;
  let lo = at(q);
  let hi = at(1 - q);
  if (!(hi > lo)) {
    lo = v[0]!;
    hi = v[v.length - 1]!;
  }
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  return [lo, hi];
}

/** Integer-valued columns with few distinct values get one bin per integer. */
export function integerEdges(x: ArrayLike<number>, maxBins: number): Float64Array | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) continue;
    if (!Number.isInteger(v)) return undefined;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi >= lo) || hi - lo + 1 > maxBins) return undefined;
  return uniformEdges(lo - 0.5, hi + 0.5, hi - lo + 1);
}
