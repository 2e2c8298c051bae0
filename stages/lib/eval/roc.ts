/**
 * Weighted ROC curve with scikit-learn's semantics (`roc_curve` / `roc_auc_score` with
 * `sample_weight`): events with zero weight are dropped, tied scores collapse into one point, the
 * curve starts at (0, 0) with threshold +∞, fpr/tpr are the cumulative weights divided by the
 * totals, and the AUC is the trapezoid area (equal to the weighted Mann–Whitney statistic, ties
 * counting one half). Negative weights are kept as given: the curve may then step backwards, and
 * the AUC is still the weighted Mann–Whitney statistic. A sort per class, then cumulative sums.
 */
import { sortWithPayload } from "./sort.js";

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

/** The events of one class with non-zero weight: scores (−0 made +0) and weights, in input order. */
interface ClassEvents {
  score: Float64Array;
  weight: Float64Array | undefined;
}

/** Splits the events by label, dropping zero weights (sklearn drops them before anything else). */
function splitByClass(
  score: Float64Array,
  label: Uint8Array,
  weight: Float64Array | undefined,
): [signal: ClassEvents, background: ClassEvents] {
  const n = score.length;
  if (label.length !== n || (weight !== undefined && weight.length !== n))
    throw new RangeError(
      `rocCurve: ${n} scores, ${label.length} labels` + (weight ? `, ${weight.length} weights` : ""),
    );
  let ns = 0;
  let nb = 0;
  for (let i = 0; i < n; i++) {
    if (weight !== undefined && weight[i] === 0) continue;
    if (label[i] === 1) ns++;
    else nb++;
  }
  const sig = { score: new Float64Array(ns), weight: weight ? new Float64Array(ns) : undefined };
  const bkg = { score: new Float64Array(nb), weight: weight ? new Float64Array(nb) : undefined };
  let js = 0;
  let jb = 0;
  for (let i = 0; i < n; i++) {
    const s = score[i]! + 0;
    if (s !== s) throw new RangeError(`rocCurve: score ${i} is NaN`);
    const w = weight === undefined ? 1 : weight[i]!;
    if (w === 0) continue;
    if (label[i] === 1) {
      sig.score[js] = s;
      if (sig.weight) sig.weight[js] = w;
      js++;
    } else {
      bkg.score[jb] = s;
      if (bkg.weight) bkg.weight[jb] = w;
      jb++;
    }
  }
  return [sig, bkg];
}

/** Distinct values in the union of two ascending arrays. */
function distinctInUnion(a: Float64Array, b: Float64Array): number {
  let i = a.length - 1;
  let j = b.length - 1;
  let m = 0;
  while (i >= 0 || j >= 0) {
    const v = j < 0 || (i >= 0 && a[i]! >= b[j]!) ? a[i]! : b[j]!;
    while (i >= 0 && a[i] === v) i--;
    while (j >= 0 && b[j] === v) j--;
    m++;
  }
  return m;
}

/**
 * Builds the full (unthinned) curve. `weight` undefined means unit weights. Scores must not be
 * NaN (RangeError).
 *
 * Each class is sorted on its own with its weights carried along (stages/lib/eval/sort.ts), then
 * the two sorted lists are merged from the top. Within each class, tied events are summed in
 * descending input order, as sklearn's cumsum over its stable descending sort does, so the
 * cumulative sums are bit-identical to sklearn's; events of the other class never enter a class's
 * sum, so how the classes interleave within a tie does not matter.
 */
export function rocCurve(score: Float64Array, label: Uint8Array, weight?: Float64Array): RocCurve {
  const [sig, bkg] = splitByClass(score, label, weight);
  sortWithPayload(sig.score, sig.weight);
  sortWithPayload(bkg.score, bkg.weight);
  const ss = sig.score;
  const sb = bkg.score;
  const ws = sig.weight;
  const wb = bkg.weight;
  // Points: one per distinct score, plus the origin at +∞.
  const m = distinctInUnion(ss, sb) + 1;
  const thr = new Float64Array(m);
  const tpsA = new Float64Array(m);
  const fpsA = new Float64Array(m);
  const tps2A = new Float64Array(m);
  const fps2A = new Float64Array(m);
  thr[0] = Infinity;
  let tp = 0;
  let fp = 0;
  let tp2 = 0;
  let fp2 = 0;
  let i = ss.length - 1;
  let j = sb.length - 1;
  for (let k = 1; k < m; k++) {
    const v = j < 0 || (i >= 0 && ss[i]! >= sb[j]!) ? ss[i]! : sb[j]!;
    if (ws === undefined) {
      while (i >= 0 && ss[i] === v) {
        tp++;
        i--;
      }
    } else {
      while (i >= 0 && ss[i] === v) {
        const w = ws[i]!;
        tp += w;
        tp2 += w * w;
        i--;
      }
    }
    if (wb === undefined) {
      while (j >= 0 && sb[j] === v) {
        fp++;
        j--;
      }
    } else {
      while (j >= 0 && sb[j] === v) {
        const w = wb[j]!;
        fp += w;
        fp2 += w * w;
        j--;
      }
    }
    thr[k] = v;
    tpsA[k] = tp;
    fpsA[k] = fp;
    tps2A[k] = ws === undefined ? tp : tp2;
    fps2A[k] = wb === undefined ? fp : fp2;
  }
  if (ws === undefined) tp2 = tp;
  if (wb === undefined) fp2 = fp;
  const fpr = new Float64Array(m);
  const tpr = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    fpr[k] = fpsA[k]! / fp;
    tpr[k] = tpsA[k]! / tp;
  }
  return {
    threshold: thr,
    fpr,
    tpr,
    tps: tpsA,
    fps: fpsA,
    tps2: tps2A,
    fps2: fps2A,
    signal: { sumw: tp, sumw2: tp2, n: ss.length },
    background: { sumw: fp, sumw2: fp2, n: sb.length },
  };
}

/** Trapezoid area under tpr(fpr) (numpy.trapz over the points, in curve order). */
export function rocAuc(c: RocCurve): number {
  let area = 0;
  for (let k = 1; k < c.fpr.length; k++)
    area += ((c.fpr[k]! - c.fpr[k - 1]!) * (c.tpr[k]! + c.tpr[k - 1]!)) / 2;
  return area;
}

/**
 * Indices kept by sklearn's drop_intermediate: points where the curve changes slope, decided as
 * numpy does it (`np.diff(fps, 2)`, a difference of differences: written as f₂ − 2f₁ + f₀ it
 * rounds differently and keeps points sklearn drops).
 */
export function dropIntermediate(c: RocCurve): number[] {
  const m = c.fpr.length;
  if (m <= 2) return m === 2 ? [0, 1] : [0];
  const { fps, tps } = c;
  // sklearn decides on the points after the origin, and always keeps the first and last of them.
  const keep = new Uint8Array(m);
  keep[0] = keep[1] = keep[m - 1] = 1;
  let count = 3;
  for (let k = 2; k < m - 1; k++) {
    const f = fps[k]!;
    const t = tps[k]!;
    if (fps[k + 1]! - f - (f - fps[k - 1]!) !== 0 || tps[k + 1]! - t - (t - tps[k - 1]!) !== 0) {
      keep[k] = 1;
      count++;
    }
  }
  // Sized once: a 10M-point curve would otherwise spend most of this function growing the array.
  const idx = new Array<number>(count);
  for (let k = 0, j = 0; k < m; k++) if (keep[k] === 1) idx[j++] = k;
  return idx;
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
