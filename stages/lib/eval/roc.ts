/**
 * Weighted ROC curve with scikit-learn's semantics (`roc_curve` / `roc_auc_score` with
 * `sample_weight`): events with zero weight are dropped, tied scores collapse into one point, the
 * curve starts at (0, 0) with threshold +∞, fpr/tpr are the cumulative weights divided by the
 * totals, and the AUC is the trapezoid area (equal to the weighted Mann–Whitney statistic, ties
 * counting one half). Negative weights are kept as given: the curve may then step backwards, and
 * the AUC is still the weighted Mann–Whitney statistic. One sort, then cumulative sums.
 */
import { argsort } from "./sort.js";

export interface RocCurve {
  /** Point k selects score ≥ threshold[k]; point 0 is (0, 0) at +∞. */
  threshold: Float64Array;
  fpr: Float64Array;
  tpr: Float64Array;
  /** Cumulative Σw and Σw² of signal (tp) and background (fp) above each threshold. */
  tps: Float64Array;
  fps: Float64Array;
  tps2: Float64Array;
  fps2: Float64Array;
  /** Totals per class (Σw, Σw², raw counts of events kept). */
  signal: ClassTotals;
  background: ClassTotals;
}

export interface ClassTotals {
  sumw: number;
  sumw2: number;
  n: number;
}

/** Builds the full (unthinned) curve. `weight` undefined means unit weights. */
export function rocCurve(score: Float64Array, label: Uint8Array, weight?: Float64Array): RocCurve {
  const order = argsort(score);
  const n = order.length;
  // Points: one per distinct score among events with non-zero weight, plus the origin.
  const thr = new Float64Array(n + 1);
  const tpsA = new Float64Array(n + 1);
  const fpsA = new Float64Array(n + 1);
  const tps2A = new Float64Array(n + 1);
  const fps2A = new Float64Array(n + 1);
  thr[0] = Infinity;
  let m = 1;
  let tp = 0;
  let fp = 0;
  let tp2 = 0;
  let fp2 = 0;
  let np = 0;
  let nn = 0;
  let last = NaN;
  for (let k = n - 1; k >= 0; k--) {
    const i = order[k]!;
    const w = weight === undefined ? 1 : weight[i]!;
    if (w === 0) continue;
    const s = score[i]! + 0;
    // A new distinct score closes the previous point (NaN !== anything, so not on the first event).
    if (s !== last && m + np + nn > 1) {
      thr[m] = last;
      tpsA[m] = tp;
      fpsA[m] = fp;
      tps2A[m] = tp2;
      fps2A[m] = fp2;
      m++;
    }
    if (label[i] === 1) {
      tp += w;
      tp2 += w * w;
      np++;
    } else {
      fp += w;
      fp2 += w * w;
      nn++;
    }
    last = s;
  }
  if (np + nn > 0) {
    thr[m] = last;
    tpsA[m] = tp;
    fpsA[m] = fp;
    tps2A[m] = tp2;
    fps2A[m] = fp2;
    m++;
  }
  const fpr = new Float64Array(m);
  const tpr = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    fpr[k] = fpsA[k]! / fp;
    tpr[k] = tpsA[k]! / tp;
  }
  return {
    threshold: thr.slice(0, m),
    fpr,
    tpr,
    tps: tpsA.slice(0, m),
    fps: fpsA.slice(0, m),
    tps2: tps2A.slice(0, m),
    fps2: fps2A.slice(0, m),
    signal: { sumw: tp, sumw2: tp2, n: np },
    background: { sumw: fp, sumw2: fp2, n: nn },
  };
}

/** Trapezoid area under tpr(fpr) (numpy.trapz over the points, in curve order). */
export function rocAuc(c: RocCurve): number {
  let area = 0;
  for (let k = 1; k < c.fpr.length; k++)
    area += ((c.fpr[k]! - c.fpr[k - 1]!) * (c.tpr[k]! + c.tpr[k - 1]!)) / 2;
  return area;
}

/** Indices kept by sklearn's drop_intermediate: points where the curve does not change slope. */
export function dropIntermediate(c: RocCurve): number[] {
  const m = c.fpr.length;
  // sklearn decides on the points after the origin, and always keeps the first of them.
  const keep: number[] = m > 1 ? [0, 1] : [0];
  for (let k = 2; k < m - 1; k++) {
    const d2f = c.fps[k + 1]! - 2 * c.fps[k]! + c.fps[k - 1]!;
    const d2t = c.tps[k + 1]! - 2 * c.tps[k]! + c.tps[k - 1]!;
    if (d2f !== 0 || d2t !== 0) keep.push(k);
  }
  if (m > 2) keep.push(m - 1);
  return keep;
}

/**
 * At most `maxPoints` points for plotting: sklearn's collinear points dropped, then, if still too
 * many, points spread evenly in tpr (for efficiency plots) and in log10(fpr) (for rejection plots),
 * always keeping the first and last points.
 */
export function thinCurve(c: RocCurve, maxPoints: number): number[] {
  const idx = dropIntermediate(c);
  if (idx.length <= maxPoints) return idx;
  const half = Math.max(1, Math.floor((maxPoints - 2) / 2));
  let minFpr = Infinity;
  for (const k of idx) if (c.fpr[k]! > 0 && c.fpr[k]! < minFpr) minFpr = c.fpr[k]!;
  const logMin = Math.log10(minFpr);
  const keep = new Set<number>([idx[0]!, idx[idx.length - 1]!]);
  let tTarget = 1;
  let fTarget = 1;
  for (const k of idx) {
    if (tTarget <= half && c.tpr[k]! >= tTarget / half) {
      keep.add(k);
      while (tTarget <= half && c.tpr[k]! >= tTarget / half) tTarget++;
    }
    const lf = c.fpr[k]! > 0 ? Math.log10(c.fpr[k]!) : -Infinity;
    const step = (-logMin / half) * fTarget + logMin;
    if (fTarget <= half && lf >= step) {
      keep.add(k);
      while (fTarget <= half && lf >= (-logMin / half) * fTarget + logMin) fTarget++;
    }
  }
  return [...keep].sort((a, b) => a - b).slice(0, maxPoints);
}

export interface Efficiency {
  value: number;
  error: number;
}

/** Weighted binomial error of a selected fraction: σ² = ((1−ε)²Σw²_pass + ε²Σw²_fail)/W². */
function efficiencyError(eps: number, pass2: number, tot: ClassTotals): number {
  const fail2 = tot.sumw2 - pass2;
  const v = ((1 - eps) * (1 - eps) * pass2 + eps * eps * fail2) / (tot.sumw * tot.sumw);
  return Math.sqrt(Math.max(v, 0));
}

export interface WorkingPoint {
  /** Score threshold of the first curve point at or beyond the target (select score ≥ threshold). */
  threshold: number;
  signal_efficiency: Efficiency;
  background_efficiency: Efficiency;
  rejection: Efficiency;
}

function interpolate(c: RocCurve, j: number, i: number, f: number): WorkingPoint {
  const lerp = (a: Float64Array) => a[j]! + f * (a[i]! - a[j]!);
  const es = lerp(c.tpr);
  const eb = lerp(c.fpr);
  const sb = efficiencyError(eb, lerp(c.fps2), c.background);
  return {
    threshold: c.threshold[i]!,
    signal_efficiency: { value: es, error: efficiencyError(es, lerp(c.tps2), c.signal) },
    background_efficiency: { value: eb, error: sb },
    rejection: { value: 1 / eb, error: sb / (eb * eb) },
  };
}

/**
 * Signal efficiency at a fixed background efficiency (TMVA's ε_S at ε_B): numpy.interp(target,
 * fpr, tpr) semantics — the last point with fpr ≤ target, interpolated linearly towards the next.
 */
export function atBackgroundEfficiency(c: RocCurve, target: number): WorkingPoint {
  const m = c.fpr.length;
  let i = 0;
  while (i < m && c.fpr[i]! <= target) i++;
  if (i === m) return interpolate(c, m - 1, m - 1, 0);
  const j = Math.max(i - 1, 0);
  const dx = c.fpr[i]! - c.fpr[j]!;
  return interpolate(c, j, i, dx > 0 ? (target - c.fpr[j]!) / dx : 0);
}

/**
 * Background efficiency (and rejection 1/ε_B) at a fixed signal efficiency: the first point with
 * tpr ≥ target (the smallest ε_B that reaches it), interpolated linearly from the point before.
 */
export function atSignalEfficiency(c: RocCurve, target: number): WorkingPoint {
  const m = c.tpr.length;
  let i = 0;
  while (i < m && c.tpr[i]! < target) i++;
  if (i === m) return interpolate(c, m - 1, m - 1, 0);
  if (i === 0 || c.tpr[i] === target) return interpolate(c, i, i, 0);
  const j = i - 1;
  return interpolate(c, j, i, (target - c.tpr[j]!) / (c.tpr[i]! - c.tpr[j]!));
}
