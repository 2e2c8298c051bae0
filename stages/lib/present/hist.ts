/**
 * Histograms for presentations: binning chosen from the data (one bin per integer for small
 * integer ranges, else the 0.5–99.5 % quantile range), entries outside the range folded into the
 * edge bins (and counted, so the plot can say so), weighted contents with √Σw² errors, optional
 * unit-area normalisation, and the rule for a log y axis. Columnar: a class mask and a flag, no
 * per-row closures.
 */

export interface Histogram {
  readonly edges: Float64Array;
  readonly values: Float64Array;
  readonly errors: Float64Array;
  /** Σw of the entries filled (before normalisation), folded ones included. */
  readonly sumw: number;
  /** Entries below the first edge / above the last, added to the first / last bin. */
  readonly underflow: number;
  readonly overflow: number;
}

export function uniformEdges(lo: number, hi: number, bins: number): Float64Array {
  const e = new Float64Array(bins + 1);
  for (let i = 0; i <= bins; i++) e[i] = lo + ((hi - lo) * i) / bins;
  return e;
}

export interface FillOptions {
  readonly w?: ArrayLike<number> | undefined;
  /** Rows where `mask[i] === value` are filled; all rows without a mask. */
  readonly mask?: ArrayLike<number> | undefined;
  readonly value?: number | undefined;
  /** Contents become a density of unit area. */
  readonly normalise?: boolean | undefined;
}

/** Fills uniform `edges`; values outside fold into the edge bins; NaN values and weights are skipped. */
export function fillHistogram(x: ArrayLike<number>, edges: Float64Array, opts: FillOptions = {}): Histogram {
  const bins = edges.length - 1;
  const lo = edges[0]!;
  const hi = edges[bins]!;
  const scale = bins / (hi - lo);
  const sw = new Float64Array(bins);
  const sw2 = new Float64Array(bins);
  const { w, mask } = opts;
  const flag = opts.value ?? 1;
  let under = 0;
  let over = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask !== undefined && mask[i] !== flag) continue;
    const v = x[i]!;
    if (v !== v) continue;
    const wi = w === undefined ? 1 : w[i]!;
    if (!Number.isFinite(wi)) continue;
    let b: number;
    if (v < lo) {
      b = 0;
      under++;
    } else if (v >= hi) {
      b = bins - 1;
      if (v > hi) over++;
    } else b = Math.min(bins - 1, Math.floor((v - lo) * scale));
    sw[b] = sw[b]! + wi;
    sw2[b] = sw2[b]! + wi * wi;
  }
  let sumw = 0;
  for (let b = 0; b < bins; b++) sumw += sw[b]!;
  const errors = new Float64Array(bins);
  for (let b = 0; b < bins; b++) errors[b] = Math.sqrt(sw2[b]!);
  if (opts.normalise && sumw !== 0) {
    const k = scale / sumw; // 1 / (Σw · bin width)
    for (let b = 0; b < bins; b++) {
      sw[b] = sw[b]! * k;
      errors[b] = errors[b]! * Math.abs(k);
    }
  }
  return { edges, values: sw, errors, sumw, underflow: under, overflow: over };
}

/**
 * The [q, 1−q] quantile range of the finite values, from at most ~50 000 evenly strided values
 * (quantiles of millions of rows need no more). Degenerate ranges widen so a plot has an extent.
 */
export function quantileRange(x: ArrayLike<number>, q: number): [number, number] {
  const stride = Math.max(1, Math.floor(x.length / 50_000));
  const v = new Float64Array(Math.ceil(x.length / stride));
  let n = 0;
  for (let i = 0; i < x.length; i += stride) {
    const y = x[i]!;
    if (Number.isFinite(y)) v[n++] = y;
  }
  if (n === 0) return [0, 1];
  const s = v.subarray(0, n).sort();
  const at = (f: number) => s[Math.min(n - 1, Math.max(0, Math.round(f * (n - 1))))]!;
  let lo = at(q);
  let hi = at(1 - q);
  if (!(hi > lo)) {
    lo = s[0]!;
    hi = s[n - 1]!;
  }
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  return [lo, hi];
}

/** Integer-valued columns with at most `maxBins` values in their range get one bin per integer. */
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

/** Edges for a variable: one per integer when few (`integer`), else `bins` over the 0.5–99.5 % quantiles. */
export function variableEdges(x: ArrayLike<number>, bins = 40): { edges: Float64Array; integer: boolean } {
  const ints = integerEdges(x, 30);
  return ints
    ? { edges: ints, integer: true }
    : { edges: uniformEdges(...quantileRange(x, 0.005), bins), integer: false };
}

/**
 * A log y axis when the contents span three orders of magnitude or more (a spike at zero and a
 * tail, a falling spectrum): on a linear axis everything but the largest bins would be flat.
 */
export function wantsLogY(series: readonly ArrayLike<number>[]): boolean {
  let max = 0;
  let min = Infinity;
  for (const v of series)
    for (let i = 0; i < v.length; i++) {
      const y = v[i]!;
      if (!(y > 0)) continue;
      if (y > max) max = y;
      if (y < min) min = y;
    }
  return max > 0 && max / min >= 1000;
}

/** What the caption says about folded entries, or undefined when none were. */
export function foldedNote(hs: readonly Histogram[]): string | undefined {
  let under = 0;
  let over = 0;
  for (const h of hs) {
    under += h.underflow;
    over += h.overflow;
  }
  if (under === 0 && over === 0) return undefined;
  const parts = [
    under ? `${under.toLocaleString("en-US")} below the range in the first bin` : "",
    over ? `${over.toLocaleString("en-US")} above it in the last bin` : "",
  ].filter(Boolean);
  return `Underflow and overflow are folded into the edge bins: ${parts.join(", ")}.`;
}

/** Bin centres of uniform edges. */
export function centres(edges: ArrayLike<number>): Float64Array {
  const out = new Float64Array(edges.length - 1);
  for (let i = 0; i < out.length; i++) out[i] = (edges[i]! + edges[i + 1]!) / 2;
  return out;
}

/**
 * One histogram per slot in a single pass: row i goes to histogram `slot[i]` (rows with a slot
 * outside [0, slots) are skipped). Same folding and options as `fillHistogram`.
 */
export function fillBySlot(
  x: ArrayLike<number>,
  edges: Float64Array,
  slot: ArrayLike<number>,
  slots: number,
  opts: { readonly w?: ArrayLike<number> | undefined; readonly normalise?: boolean | undefined } = {},
): Histogram[] {
  const bins = edges.length - 1;
  const lo = edges[0]!;
  const hi = edges[bins]!;
  const scale = bins / (hi - lo);
  const sw = new Float64Array(bins * slots);
  const sw2 = new Float64Array(bins * slots);
  const under = new Float64Array(slots);
  const over = new Float64Array(slots);
  const w = opts.w;
  for (let i = 0; i < x.length; i++) {
    const s = slot[i]!;
    if (!(s >= 0 && s < slots)) continue;
    const v = x[i]!;
    if (v !== v) continue;
    const wi = w === undefined ? 1 : w[i]!;
    if (!Number.isFinite(wi)) continue;
    let b: number;
    if (v < lo) {
      b = 0;
      under[s]!++;
    } else if (v >= hi) {
      b = bins - 1;
      if (v > hi) over[s]!++;
    } else b = Math.min(bins - 1, Math.floor((v - lo) * scale));
    const k = s * bins + b;
    sw[k] = sw[k]! + wi;
    sw2[k] = sw2[k]! + wi * wi;
  }
  const out: Histogram[] = [];
  for (let s = 0; s < slots; s++) {
    const values = sw.slice(s * bins, (s + 1) * bins);
    const errors = new Float64Array(bins);
    let sumw = 0;
    for (let b = 0; b < bins; b++) {
      sumw += values[b]!;
      errors[b] = Math.sqrt(sw2[s * bins + b]!);
    }
    if (opts.normalise && sumw !== 0) {
      const k = scale / sumw;
      for (let b = 0; b < bins; b++) {
        values[b] = values[b]! * k;
        errors[b] = errors[b]! * Math.abs(k);
      }
    }
    out.push({ edges, values, errors, sumw, underflow: under[s]!, overflow: over[s]! });
  }
  return out;
}
