/**
 * Training figures of a classifier from its probabilities, for model kinds that score in float64
 * (the networks compute theirs from logits in stages/lib/nn/train-loop.ts, with the same rules).
 */
import { weightedAuc } from "../eval/auc.js";
import type { LabeledData } from "../labeled.js";
import { accuracy, bceOfProbability, weightedMean } from "../nn/metrics.js";

/** Loss, accuracy and AUC of probabilities; the loss is Σwℓ/N as the networks' default. */
export function classifierFigures(
  prob: Float64Array,
  data: LabeledData,
): { loss: number; accuracy: number; auc: number } {
  const losses = new Float64Array(data.n);
  for (let i = 0; i < data.n; i++) losses[i] = bceOfProbability(prob[i]!, data.labels[i]!);
  return {
    loss: weightedMean(losses, data.weights, "batch_size"),
    accuracy: accuracy(prob, data.labels),
    auc: weightedAuc(prob, data.labels, data.weights),
  };
}
