/**
 * Permutation feature importance, as scikit-learn's `permutation_importance`: the score of the
 * model on the data, minus its score after the values of one feature are shuffled across rows;
 * `repeats` shuffles per feature, their mean and standard deviation (ddof 0, numpy's default).
 * A feature the model does not use loses nothing; one it relies on loses much. Scores are
 * "higher is better" (sklearn's `neg_log_loss` for the log-loss).
 */
import { Rng } from "../random.js";
import { weightedAuc } from "./auc.js";
import { binaryCrossEntropy, thresholdMetrics } from "./classification.js";

export type ImportanceMetric = "auc" | "accuracy" | "neg_log_loss";

/** The metric of scores against 0/1 labels (weighted when `weights` is given); higher is better. */
export function metricScore(
  metric: ImportanceMetric,
  score: Float64Array,
  labels: Uint8Array,
  weights: Float64Array | undefined,
): number {
  switch (metric) {
    case "auc":
      return weightedAuc(score, labels, weights);
    case "accuracy":
      return thresholdMetrics(score, labels, weights, 0.5).accuracy;
    case "neg_log_loss": {
      // sklearn's log_loss clips at the float64 machine epsilon.
      const l = binaryCrossEntropy(score, labels, weights, 2.220446049250313e-16);
      return l === undefined ? NaN : -l;
    }
  }
}

export interface PermutationResult {
  readonly baseline: number;
  /** Per feature: the `repeats` decreases of the score. */
  readonly decreases: readonly Float64Array[];
  readonly mean: Float64Array;
  readonly std: Float64Array;
}

/**
 * Shuffles each feature `repeats` times (Fisher–Yates from `seed`) and scores the model on the
 * data with that one column permuted. `score` receives the feature columns in the model's order
 * and returns probabilities of class 1.
 */
export async function permutationImportance(
  score: (features: readonly Float64Array[]) => Promise<Float64Array>,
  features: readonly Float64Array[],
  labels: Uint8Array,
  weights: Float64Array | undefined,
  metric: ImportanceMetric,
  repeats: number,
  seed: number,
  onProgress?: (fraction: number) => void,
): Promise<PermutationResult> {
  const n = labels.length;
  const baseline = metricScore(metric, await score(features), labels, weights);
  const rng = new Rng(seed);
  const order = new Int32Array(n);
  const decreases: Float64Array[] = [];
  const mean = new Float64Array(features.length);
  const std = new Float64Array(features.length);
  for (let f = 0; f < features.length; f++) {
    const src = features[f]!;
    const shuffled = new Float64Array(n);
    const d = new Float64Array(repeats);
    for (let r = 0; r < repeats; r++) {
      for (let i = 0; i < n; i++) order[i] = i;
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      for (let i = 0; i < n; i++) shuffled[i] = src[order[i]!]!;
      const cols = features.map((c, k) => (k === f ? shuffled : c));
      d[r] = baseline - metricScore(metric, await score(cols), labels, weights);
      onProgress?.((f * repeats + r + 1) / (features.length * repeats));
    }
    let m = 0;
    for (let r = 0; r < repeats; r++) m += d[r]!;
    m /= repeats;
    let v = 0;
    for (let r = 0; r < repeats; r++) v += (d[r]! - m) ** 2;
    mean[f] = m;
    std[f] = Math.sqrt(v / repeats);
    decreases.push(d);
  }
  return { baseline, decreases, mean, std };
}
