/**
 * Classifier figures computed in float64 from scores: binary cross-entropy, accuracy and the
 * area under the ROC curve, each optionally weighted. Shared by `train` (validation metrics of
 * both model kinds) and `kfold` (per-fold metrics).
 */

/** Keras clips probabilities to [ε, 1-ε] with ε = 1e-7 before taking logs. */
const EPS = 1e-7;

/** Per-row binary cross-entropy of a probability, Keras style (clipped). */
export function bceOfProbability(p: number, y: number): number {
  const q = Math.min(Math.max(p, EPS), 1 - EPS);
  return -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
}

/** Per-row binary cross-entropy of a logit z, in the stable form max(z,0) - z·y + log(1+e^-|z|). */
export function bceOfLogit(z: number, y: number): number {
  return Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
}

/**
 * Σ wᵢℓᵢ divided by N ("batch_size", Keras' sum_over_batch_size) or by Σ wᵢ ("sum_of_weights").
 * Without weights both are the plain mean.
 */
export function weightedMean(
  losses: Float64Array,
  weights: Float64Array | undefined,
  normalization: "batch_size" | "sum_of_weights",
): number {
  let s = 0;
  let sw = 0;
  for (let i = 0; i < losses.length; i++) {
    const w = weights ? weights[i]! : 1;
    s += w * losses[i]!;
    sw += w;
  }
  return s / (normalization === "batch_size" ? losses.length : sw);
}

/** Fraction of rows where (score > 0.5) equals the label; unweighted, as Keras' "accuracy". */
export function accuracy(prob: Float64Array | Float32Array, labels: Uint8Array): number {
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if ((prob[i]! > 0.5 ? 1 : 0) === labels[i]) ok++;
  return ok / labels.length;
}

/**
 * Area under the ROC curve, with weights (negative weights allowed, as in sklearn's
 * roc_auc_score(sample_weight)); ties count one half. NaN when one class is absent.
 */
export function rocAuc(
  score: Float64Array | Float32Array,
  labels: Uint8Array,
  weights?: Float64Array,
): number {
  const n = labels.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => score[b]! - score[a]!);
  let tp = 0;
  let fp = 0;
  let area = 0;
  for (let i = 0; i < n;) {
    // One group of tied scores moves the curve along a straight segment (trapezoid).
    let dtp = 0;
    let dfp = 0;
    const s = score[order[i]!]!;
    for (; i < n && score[order[i]!]! === s; i++) {
      const r = order[i]!;
      const w = weights ? weights[r]! : 1;
      if (labels[r]) dtp += w;
      else dfp += w;
    }
    area += dfp * (tp + dtp / 2);
    tp += dtp;
    fp += dfp;
  }
  return tp === 0 || fp === 0 ? NaN : area / (tp * fp);
}

/** Mean and population standard deviation (ddof 0, numpy's default, as the Higgs notebook prints). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  const v = values.reduce((a, b) => a + (b - m) * (b - m), 0) / values.length;
  return { mean: m, std: Math.sqrt(v) };
}
