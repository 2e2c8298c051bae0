/**
 * Cut scans for discovery significance: for each threshold t, the weighted signal S and background
 * B with score > t, and Z by one of the usual formulas. Uniform thresholds need no sort (one pass
 * bins the events between consecutive thresholds, then suffix sums); arbitrary thresholds use one
 * sort and binary searches.
 */
import { argsort } from "./sort.js";

export type Formula = "s_over_sqrt_b" | "s_over_sqrt_s_plus_b" | "asimov" | "ams";

export interface FormulaOptions {
  /** Added to B under the square root / in the formula (the dark-matter notebook's +0.001). */
  epsilonB: number;
  /** Relative background uncertainty σ_b/B for the Asimov formula (0 = none). */
  sigmaB: number;
  /** HiggsML AMS regularisation term. */
  bReg: number;
}

/** Z for one (S, B). NaN where the formula is undefined (e.g. B ≤ 0). */
export function significance(formula: Formula, s: number, b0: number, o: FormulaOptions): number {
  const b = b0 + o.epsilonB;
  switch (formula) {
    case "s_over_sqrt_b":
      return b > 0 ? s / Math.sqrt(b) : NaN;
    case "s_over_sqrt_s_plus_b":
      return s + b > 0 ? s / Math.sqrt(s + b) : NaN;
    case "asimov": {
      if (!(b > 0) || s + b <= 0) return NaN;
      if (o.sigmaB > 0) {
        // Cowan et al. / RooStats AsimovSignificance with background uncertainty σ = σ_b·B.
        const sig2 = (o.sigmaB * b) ** 2;
        const t1 = (s + b) * Math.log(((s + b) * (b + sig2)) / (b * b + (s + b) * sig2));
        const t2 = ((b * b) / sig2) * Math.log1p((sig2 * s) / (b * (b + sig2)));
        return Math.sqrt(Math.max(2 * (t1 - t2), 0));
      }
      return Math.sqrt(Math.max(2 * ((s + b) * Math.log1p(s / b) - s), 0));
    }
    case "ams": {
      const br = b + o.bReg;
      if (!(br > 0)) return NaN;
      return Math.sqrt(Math.max(2 * ((s + br) * Math.log1p(s / br) - s), 0));
    }
  }
}

export interface Scan {
  threshold: Float64Array;
  /** Σw of signal / background with score > threshold (uncorrected). */
  s: Float64Array;
  b: Float64Array;
  /** Raw event counts with score > threshold. */
  ns: Float64Array;
  nb: Float64Array;
}

/** numpy.linspace(lo, hi, n), bit for bit. */
export function linspaceThresholds(lo: number, hi: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = lo;
    return out;
  }
  const step = (hi - lo) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = i * step + lo;
  out[n - 1] = hi;
  return out;
}

/**
 * Sums above each of the ascending `thresholds`. Uses bucket counting when the thresholds are a
 * linspace (`uniform`), else a sort of the scores.
 */
export function scanSums(
  score: Float64Array,
  label: Uint8Array,
  weight: Float64Array | undefined,
  thresholds: Float64Array,
  uniform: boolean,
): Scan {
  const k = thresholds.length;
  // Bucket j (0..k) holds events with t[j-1] < score ≤ t[j]; bucket k is above the last threshold.
  const bs = new Float64Array(k + 1);
  const bb = new Float64Array(k + 1);
  const cs = new Float64Array(k + 1);
  const cb = new Float64Array(k + 1);
  const n = score.length;
  const bucketOf = (v: number, guess: number): number => {
    let j = guess;
    while (j > 0 && v <= thresholds[j - 1]!) j--;
    while (j < k && v > thresholds[j]!) j++;
    return j;
  };
  if (uniform && k >= 2) {
    const lo = thresholds[0]!;
    const inv = (k - 1) / (thresholds[k - 1]! - lo);
    for (let i = 0; i < n; i++) {
      const v = score[i]!;
      const g = Number.isFinite(inv) ? Math.min(Math.max(Math.ceil((v - lo) * inv), 0), k) : 0;
      const j = bucketOf(v, g);
      const w = weight ? weight[i]! : 1;
      if (label[i] === 1) {
        bs[j]! += w;
        cs[j]!++;
      } else {
        bb[j]! += w;
        cb[j]!++;
      }
    }
  } else {
    const order = argsort(score);
    let j = 0;
    for (let r = 0; r < n; r++) {
      const i = order[r]!;
      const v = score[i]!;
      while (j < k && v > thresholds[j]!) j++;
      const w = weight ? weight[i]! : 1;
      if (label[i] === 1) {
        bs[j]! += w;
        cs[j]!++;
      } else {
        bb[j]! += w;
        cb[j]!++;
      }
    }
  }
  const s = new Float64Array(k);
  const b = new Float64Array(k);
  const ns = new Float64Array(k);
  const nb = new Float64Array(k);
  let as = bs[k]!;
  let ab = bb[k]!;
  let an = cs[k]!;
  let am = cb[k]!;
  for (let j = k - 1; j >= 0; j--) {
    s[j] = as;
    b[j] = ab;
    ns[j] = an;
    nb[j] = am;
    as += bs[j]!;
    ab += bb[j]!;
    an += cs[j]!;
    am += cb[j]!;
  }
  return { threshold: thresholds, s, b, ns, nb };
}
