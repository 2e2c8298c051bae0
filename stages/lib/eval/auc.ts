/**
 * The area under the ROC curve as one number, for training figures (a network's or a forest's
 * validation AUC, each kfold fold's): the same weighted curve the `roc` stage draws (roc.ts,
 * scikit-learn's `roc_auc_score` with `sample_weight`), so every AUC Quiver reports agrees.
 */
import { rocAuc, rocCurve } from "./roc.js";

/** Weighted ROC AUC, ties counting one half; NaN when a class has no events of non-zero total weight. */
export function weightedAuc(
  score: Float64Array | Float32Array,
  labels: Uint8Array,
  weights?: Float64Array,
): number {
  const curve = rocCurve(score instanceof Float64Array ? score : Float64Array.from(score), labels, weights);
  if (curve.signal.sumw === 0 || curve.background.sumw === 0) return NaN;
  return rocAuc(curve);
}
