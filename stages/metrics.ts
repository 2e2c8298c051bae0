/**
 * `metrics`: accuracy, precision, recall, F1 and the confusion matrix at a threshold, weighted or
 * not, and the binary cross-entropy of each score column (the "val loss" notebooks print).
 * Numerics: stages/lib/eval/classification.ts.
 */
import { setOwn } from "../core/dict.js";
import { defineStage, metrics, StageError } from "../core/stage.js";
import type { JsonObject } from "../core/json.js";
import { p } from "../core/schema.js";
import { binaryLabels, scoreValues, weightValues } from "./lib/columns.js";
import { binaryCrossEntropy, thresholdMetrics } from "./lib/eval/classification.js";
import { finite } from "./lib/finite.js";

const params = p.object({
  scores: p.array(p.column({ description: "score column (probability of signal)" }), { minItems: 1 }),
  label: p.withDefault(p.column({ description: "0/1 label column (1 = signal)" }), "label"),
  weight: p.optional(p.column({ description: "event weight column (default: unit weights)" })),
  threshold: p.withDefault(p.number({ description: "predict signal when score ≥ threshold" }), 0.5),
  clip_epsilon: p.withDefault(
    p.number({
      min: 0,
      max: 0.5,
      description: "probabilities clipped to [ε, 1−ε] in the cross-entropy (Keras: 1e-7)",
    }),
    1e-7,
  ),
});

export const metricsStage = defineStage({
  type: "metrics",
  version: 1,
  description: "Accuracy, precision/recall, confusion matrix and binary cross-entropy of score columns",
  inputs: { table: { kind: "table", description: "events with score, label and (optional) weight columns" } },
  outputs: { metrics: { kind: "metrics", description: "per score column" } },
  params,
  run(ctx) {
    const pr = ctx.params;
    const t = ctx.inputs.table("table");
    const what = 'input "table"';
    const label = binaryLabels(t, pr.label, { what, param: ["label"] });
    const weight =
      pr.weight === undefined ? undefined : weightValues(t, pr.weight, { what, param: ["weight"] });
    if (t.numRows === 0) throw new StageError("QV_EVAL_EMPTY", "metrics: the input table has no events");
    const out: JsonObject = {};
    for (const [si, name] of pr.scores.entries()) {
      const score = scoreValues(t, name, { what, param: ["scores", si] });
      const m = thresholdMetrics(score, label, weight, pr.threshold);
      const bce = binaryCrossEntropy(score, label, weight, pr.clip_epsilon);
      if (bce === undefined) ctx.note(`${name}: scores outside [0, 1], so no cross-entropy is reported`);
      setOwn(out, name, {
        accuracy: finite(m.accuracy),
        precision: finite(m.precision),
        recall: finite(m.recall),
        f1: finite(m.f1),
        confusion: { ...m.confusion },
        binary_cross_entropy: bce === undefined ? null : finite(bce),
      });
    }
    return Promise.resolve({
      outputs: {
        metrics: metrics({ threshold: pr.threshold, weighted: pr.weight !== undefined, scores: out }),
      },
    });
  },
  async present(ctx) {
    return (await import("./lib/present/classification.js")).presentClassification(ctx);
  },
});
