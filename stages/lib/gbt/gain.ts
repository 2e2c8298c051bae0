/**
 * Split gain of a trained forest, replayed over a data set: for each tree in training order, the
 * log-loss gradients and hessians of the rows at that point of the boosting (base score plus the
 * earlier trees), summed in every node the rows pass through, give each split the gain the grower
 * maximised, G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ) (grow.ts). The total per feature is XGBoost's
 * `total_gain` importance. On the training rows without subsampling it is the training gain
 * exactly; with subsampling each tree saw a sample, and the replay measures it on all rows.
 */
import type { GbtModel } from "./artifact.js";

export function replayGain(
  model: GbtModel,
  features: readonly Float64Array[],
  labels: Uint8Array,
  weights: Float64Array | undefined,
): Float64Array {
  const { forest } = model;
  const l2 = model.options.l2;
  const n = labels.length;
  // Weights normalised to mean 1, as the trainer does: gains on the training's own scale.
  let wsum = 0;
  for (let r = 0; r < n; r++) wsum += weights ? weights[r]! : 1;
  const wscale = wsum > 0 ? n / wsum : 1;
  const gain = new Float64Array(features.length);
  const scores = new Float64Array(n).fill(forest.baseScore);
  const { treeStart, feature, threshold, left, right, missingLeft, value } = forest;
  const trees = treeStart.length - 1;
  for (let t = 0; t < trees; t++) {
    const s = treeStart[t]!;
    const size = treeStart[t + 1]! - s;
    const G = new Float64Array(size);
    const H = new Float64Array(size);
    for (let r = 0; r < n; r++) {
      const p = 1 / (1 + Math.exp(-scores[r]!));
      const w = (weights ? weights[r]! : 1) * wscale;
      const g = w * (p - labels[r]!);
      const h = w * p * (1 - p);
      let k = s;
      for (;;) {
        G[k - s] = G[k - s]! + g;
        H[k - s] = H[k - s]! + h;
        const f = feature[k]!;
        if (f < 0) break;
        const x = features[f]![r]!;
        const goLeft = Number.isNaN(x) ? missingLeft[k] === 1 : x <= threshold[k]!;
        k = s + (goLeft ? left[k]! : right[k]!);
      }
      scores[r] = scores[r]! + value[k]!;
    }
    for (let i = 0; i < size; i++) {
      const f = feature[s + i]!;
      if (f < 0) continue;
      const a = left[s + i]!;
      const b = right[s + i]!;
      const g = G[a]! ** 2 / (H[a]! + l2) + G[b]! ** 2 / (H[b]! + l2) - G[i]! ** 2 / (H[i]! + l2);
      if (Number.isFinite(g) && g > 0) gain[f] = gain[f]! + g;
    }
  }
  return gain;
}
