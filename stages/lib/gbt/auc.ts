/**
 * Weighted ROC AUC in O(n log n): the weighted probability that a random positive scores above a
 * random negative, ties counting one half (the same as scikit-learn's roc_auc_score with
 * sample_weight). Used by the gbt tests and benchmark; the eval stages have their own.
 */
export function weightedAuc(scores: Float64Array, labels: Uint8Array, weights?: Float64Array): number {
  const n = scores.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[a]! - scores[b]!);
  let negBelow = 0;
  let area = 0;
  let totalPos = 0;
  for (let i = 0; i < n;) {
    const s = scores[order[i]!]!;
    let pos = 0;
    let neg = 0;
    for (; i < n && scores[order[i]!] === s; i++) {
      const r = order[i]!;
      const w = weights ? weights[r]! : 1;
      if (labels[r] === 1) pos += w;
      else neg += w;
    }
    area += pos * (negBelow + 0.5 * neg);
    negBelow += neg;
    totalPos += pos;
  }
  if (!(totalPos > 0) || !(negBelow > 0)) return NaN;
  return area / (totalPos * negBelow);
}
