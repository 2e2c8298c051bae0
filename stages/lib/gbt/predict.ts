/** Prediction with a decoded forest: raw feature values, no binning. */
import { decodeModel } from "./artifact.js";
import type { GbtForest } from "./artifact.js";
import type { ModelArtifact } from "../../../core/stage.js";

export function predictGbt(model: ModelArtifact, features: readonly Float64Array[]): Float64Array {
  const decoded = decodeModel(model);
  const names = decoded.featureNames;
  if (features.length !== names.length)
    throw new Error(
      `gbt model expects ${names.length} features (${names.join(", ")}) but got ${features.length} columns`,
    );
  const n = features[0]?.length ?? 0;
  features.forEach((col, f) => {
    if (col.length !== n)
      throw new Error(`gbt feature "${names[f]}" has ${col.length} values, expected ${n}`);
  });
  const scores = rawScores(decoded.forest, features, n);
  for (let r = 0; r < n; r++) scores[r] = 1 / (1 + Math.exp(-scores[r]!));
  return scores;
}

/** Sum of the base score and every tree's leaf, added tree by tree in training order. */
export function rawScores(forest: GbtForest, features: readonly Float64Array[], n: number): Float64Array {
  const { treeStart, feature, threshold, left, right, missingLeft, value } = forest;
  const scores = new Float64Array(n).fill(forest.baseScore);
  const numTrees = treeStart.length - 1;
  for (let t = 0; t < numTrees; t++) {
    const s = treeStart[t]!;
    for (let r = 0; r < n; r++) {
      let k = s;
      for (;;) {
        const f = feature[k]!;
        if (f < 0) break;
        const x = features[f]![r]!;
        const goLeft = Number.isNaN(x) ? missingLeft[k] === 1 : x <= threshold[k]!;
        k = s + (goLeft ? left[k]! : right[k]!);
      }
      scores[r] = scores[r]! + value[k]!;
    }
  }
  return scores;
}
