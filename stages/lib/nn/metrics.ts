/**
 * Classifier figures computed in float64 from scores: binary cross-entropy and accuracy, the
 * loss optionally weighted. Shared by both model kinds' training figures; their AUC is the
 * `roc` stage's (stages/lib/eval/auc.ts).
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
