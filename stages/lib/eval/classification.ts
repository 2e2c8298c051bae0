/**
 * Threshold metrics of a binary classifier (accuracy, precision, recall, F1, confusion matrix),
 * weighted or not, and the binary cross-entropy of a probability score — scikit-learn's
 * accuracy_score / precision_score / recall_score / confusion_matrix / log_loss with sample_weight.
 */

export interface Confusion {
  /** Weighted counts (Σw): true negatives, false positives, false negatives, true positives. */
  tn: number;
  fp: number;
  fn: number;
  tp: number;
}

export interface ThresholdMetrics {
  confusion: Confusion;
  accuracy: number;
  /** NaN when nothing is predicted positive (sklearn warns and returns 0; we say "undefined"). */
  precision: number;
  recall: number;
  f1: number;
}

/** Predicted positive when score ≥ threshold (Keras' and sklearn's usual `p >= 0.5`). */
export function thresholdMetrics(
  score: Float64Array,
  label: Uint8Array,
  weight: Float64Array | undefined,
  threshold: number,
): ThresholdMetrics {
  const c: Confusion = { tn: 0, fp: 0, fn: 0, tp: 0 };
  for (let i = 0; i < score.length; i++) {
    const w = weight ? weight[i]! : 1;
    const pos = score[i]! >= threshold;
    if (label[i] === 1) {
      if (pos) c.tp += w;
      else c.fn += w;
    } else if (pos) c.fp += w;
    else c.tn += w;
  }
  const total = c.tn + c.fp + c.fn + c.tp;
  const precision = c.tp + c.fp !== 0 ? c.tp / (c.tp + c.fp) : NaN;
  const recall = c.tp + c.fn !== 0 ? c.tp / (c.tp + c.fn) : NaN;
  const f1 = 2 * c.tp + c.fp + c.fn !== 0 ? (2 * c.tp) / (2 * c.tp + c.fp + c.fn) : NaN;
  return { confusion: c, accuracy: total !== 0 ? (c.tp + c.tn) / total : NaN, precision, recall, f1 };
}

/**
 * Weighted mean binary cross-entropy −Σw[y·ln p + (1−y)·ln(1−p)]/Σw, with p clipped to
 * [ε, 1−ε] (Keras uses ε = 1e-7, so this reproduces a notebook's "val loss").
 * Returns undefined when a score lies outside [0, 1] (not a probability).
 */
export function binaryCrossEntropy(
  score: Float64Array,
  label: Uint8Array,
  weight: Float64Array | undefined,
  epsilon: number,
): number | undefined {
  let sum = 0;
  let sw = 0;
  for (let i = 0; i < score.length; i++) {
    const p0 = score[i]!;
    if (!(p0 >= 0 && p0 <= 1)) return undefined;
    const p = Math.min(Math.max(p0, epsilon), 1 - epsilon);
    const w = weight ? weight[i]! : 1;
    sum -= w * (label[i] === 1 ? Math.log(p) : Math.log1p(-p));
    sw += w;
  }
  return sum / sw;
}
