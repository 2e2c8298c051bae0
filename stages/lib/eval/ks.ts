/**
 * Two-sample Kolmogorov–Smirnov tests on sorted samples: scipy.stats.ks_2samp (two-sided) with its
 * `auto`/`exact`/`asymp` rules, a weighted variant and the binned (histogram) variant of ROOT/TMVA.
 * Pure functions: sorted typed arrays in, plain numbers out.
 */
import { kolmogorovSf } from "./kolmogorov.js";
import { kstwoSf } from "./kstwo.js";

export type KsMethod = "auto" | "exact" | "asymp";

export interface KsResult {
  statistic: number;
  pvalue: number;
  /** The method that produced the p-value (auto resolves to exact or asymp; exact may fall back). */
  method: "exact" | "asymp";
}

/** scipy's `method='auto'` uses the exact distribution up to this many events in the larger sample. */
const MAX_AUTO_N = 10000;
const INT32_MAX = 2147483647;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** D = sup |F₁ − F₂| over the pooled values, ECDFs taken after all ties (searchsorted side='right'). */
function ksStatistic(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < n1 && a[i]! <= v) i++;
    while (j < n2 && b[j]! <= v) j++;
    const diff = Math.abs(i / n1 - j / n2);
    if (diff > d) d = diff;
  }
  return d;
}

/** Pr(D ≥ h/n) for two samples of size n (scipy `_compute_prob_outside_square`). */
function probOutsideSquare(n: number, h: number): number {
  // 2·Σ(−1)^(k−1)·C(2n, n−kh)/C(2n, n), evaluated Horner-like to avoid cancellation.
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * Proportion of lattice paths from (0,0) to (m,n) that leave the band |x/m − y/n| < h/lcm
 * (scipy `_compute_outer_prob_inside_method`: Hodges' inside method with Viehmann's recursion for
 * 1 − p, one sliding column).
 */
function probOutsideBand(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  for (let k = minj; k < maxj; k++) A[k] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) for (let k = curlen; k < curlen + (lastlen - curlen); k++) A[k] = 1;
  }
  return A[maxj - minj - 1]!;
}

/** scipy `_attempt_exact_2kssamp` (two-sided): the p-value, or undefined when it is not computable. */
function exactPvalue(n1: number, n2: number, g: number, d: number): { d: number; p: number } | undefined {
  const lcm = (n1 / g) * n2;
  const h = Math.round(d * lcm);
  const dq = h / lcm;
  if (h === 0) return { d: dq, p: 1 };
  const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
  if (!Number.isFinite(p) || !(p >= 0 && p <= 1)) return undefined;
  return { d: dq, p };
}

/** Asymptotic two-sided p-value: kstwo.sf(D, round(n₁n₂/(n₁+n₂))). */
function asympPvalue(d: number, n1: number, n2: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  return kstwoSf(d, roundHalfEven(en));
}

/** numpy's round: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** scipy.stats.ks_2samp(a, b, method) for sorted, non-empty a and b (two-sided). */
export function ks2samp(a: Float64Array, b: Float64Array, method: KsMethod = "auto"): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError("ks2samp needs two non-empty samples");
  let d = ksStatistic(a, b);
  const g = gcd(n1, n2);
  let mode: "exact" | "asymp" =
    method === "auto" ? (Math.max(n1, n2) <= MAX_AUTO_N ? "exact" : "asymp") : method;
  // scipy's guard: lcm(n1, n2) must fit in int32 for the exact path.
  if (method === "exact" && n1 / g >= INT32_MAX / (n2 / g)) mode = "asymp";
  if (mode === "exact") {
    const r = exactPvalue(n1, n2, g, d);
    if (r) return { statistic: r.d, pvalue: r.p, method: "exact" };
    mode = "asymp";
  }
  const p = asympPvalue(d, n1, n2);
  d = Math.min(Math.max(d, 0), 1);
  return { statistic: d, pvalue: Math.min(Math.max(p, 0), 1), method: "asymp" };
}

/** Kish effective sample size (Σw)²/Σw². */
function kish(w: Float64Array): number {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < w.length; i++) {
    s += w[i]!;
    s2 += w[i]! * w[i]!;
  }
  return s2 > 0 ? (s * s) / s2 : 0;
}

export interface WeightedKsResult {
  statistic: number;
  pvalue: number;
  nEffA: number;
  nEffB: number;
}

/**
 * Weighted two-sample KS: D from the weighted ECDFs (after all ties), p-value from the exact
 * one-sample distribution kstwo at n = round(n₁ₑ·n₂ₑ/(n₁ₑ+n₂ₑ)) with Kish effective sizes — with
 * unit weights this is exactly ks_2samp(method='asymp').
 */
export function weightedKs(
  a: Float64Array,
  wa: Float64Array,
  b: Float64Array,
  wb: Float64Array,
): WeightedKsResult {
  let Wa = 0;
  let Wb = 0;
  for (let i = 0; i < wa.length; i++) Wa += wa[i]!;
  for (let i = 0; i < wb.length; i++) Wb += wb[i]!;
  let i = 0;
  let j = 0;
  let ca = 0;
  let cb = 0;
  let d = 0;
  const n1 = a.length;
  const n2 = b.length;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < n1 && a[i]! <= v) ca += wa[i++]!;
    while (j < n2 && b[j]! <= v) cb += wb[j++]!;
    const diff = Math.abs(ca / Wa - cb / Wb);
    if (diff > d) d = diff;
  }
  const nEffA = kish(wa);
  const nEffB = kish(wb);
  const en = (nEffA * nEffB) / (nEffA + nEffB);
  return { statistic: d, pvalue: kstwoSf(Math.min(d, 1), Math.max(1, roundHalfEven(en))), nEffA, nEffB };
}

export interface BinnedKsResult {
  statistic: number;
  pvalue: number;
  edges: Float64Array;
  countsA: Float64Array;
  countsB: Float64Array;
}

/** Weighted histogram with numpy's binning (last bin closed), values outside [lo, hi] ignored. */
export function histogram(x: Float64Array, w: Float64Array | undefined, edges: Float64Array): Float64Array {
  const bins = edges.length - 1;
  const out = new Float64Array(bins);
  const lo = edges[0]!;
  const hi = edges[bins]!;
  const scale = bins / (hi - lo);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!(v >= lo && v <= hi)) continue;
    let k = Math.min(Math.floor((v - lo) * scale), bins - 1);
    // The float estimate can be off by one next to an edge: settle it against the edges themselves.
    if (k > 0 && v < edges[k]!) k--;
    else if (k < bins - 1 && v >= edges[k + 1]!) k++;
    out[k]! += w ? w[i]! : 1;
  }
  return out;
}

/** numpy.linspace(lo, hi, n) (n ≥ 2), bit for bit. */
export function linspace(lo: number, hi: number, n: number): Float64Array {
  const out = new Float64Array(n);
  const step = (hi - lo) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = i * step + lo;
  out[n - 1] = hi;
  return out;
}

/**
 * Binned KS (ROOT TH1::KolmogorovTest, used by TMVA's overtraining check): D between the cumulative
 * normalised histograms, p-value from the limiting Kolmogorov distribution at D·√(n₁n₂/(n₁+n₂)),
 * with Kish effective sizes when weighted.
 */
export function binnedKs(
  a: Float64Array,
  wa: Float64Array | undefined,
  b: Float64Array,
  wb: Float64Array | undefined,
  edges: Float64Array,
): BinnedKsResult {
  const countsA = histogram(a, wa, edges);
  const countsB = histogram(b, wb, edges);
  let ta = 0;
  let tb = 0;
  for (let k = 0; k < countsA.length; k++) {
    ta += countsA[k]!;
    tb += countsB[k]!;
  }
  let ca = 0;
  let cb = 0;
  let d = 0;
  for (let k = 0; k < countsA.length; k++) {
    ca += countsA[k]!;
    cb += countsB[k]!;
    const diff = Math.abs(ca / ta - cb / tb);
    if (diff > d) d = diff;
  }
  const na = wa ? kish(wa) : a.length;
  const nb = wb ? kish(wb) : b.length;
  const pvalue = kolmogorovSf(d * Math.sqrt((na * nb) / (na + nb)));
  return { statistic: d, pvalue, edges, countsA, countsB };
}
