/**
 * `train`: fits one model (a neural network, or gradient-boosted trees) on a table, with an
 * optional validation table, and outputs the model, its training history and metrics. Networks
 * train on Quiver's WebAssembly SIMD trainer when it supports the spec, else on tfjs (`trainer`).
 * History and metrics are deterministic (same seed, same bytes); wall-clock times go to the run
 * summary. The spec and its conventions are in docs/training.md.
 */
import { defineStage, metrics, model, table, type ParamProblem } from "../core/stage.js";
import { p } from "../core/schema.js";
import { checkTrainingParams, networkTrainer, trainingEnvironment, trainingFields } from "./lib/nn/params.js";
import { labeledData } from "./lib/nn/data.js";

const params = p.object({
  ...trainingFields,
  validation_weight: p.optional(
    p.column({ description: "weight column of the validation table (unset: unweighted validation)" }),
  ),
});

export const trainStage = defineStage({
  type: "train",
  version: 2,
  description:
    "Train a classifier (neural network on the WebAssembly trainer or tfjs, or gradient-boosted trees) on a table",
  inputs: {
    train: { kind: "table", description: "training rows: features, label and optional weight" },
    validation: {
      kind: "table",
      description: "rows scored after each epoch (val_loss, early stopping)",
      optional: true,
    },
  },
  outputs: {
    model: { kind: "model", description: "the trained model, for predict" },
    history: {
      kind: "table",
      description: "per epoch: epoch, loss, accuracy, val_loss, val_accuracy (gbt: tree, loss)",
    },
    metrics: {
      kind: "metrics",
      description: "final loss/accuracy/val figures, epochs, parameters, trainer",
    },
  },
  params,
  random: true,
  check(pr): ParamProblem[] {
    const problems = checkTrainingParams(pr);
    if (pr.validation_weight !== undefined && pr.validation_weight === pr.label)
      problems.push({
        path: ["validation_weight"],
        code: "QV_WEIGHT_IS_LABEL",
        message: "the validation weight is the label column",
      });
    return problems;
  },
  environment: (pr) => Promise.resolve(trainingEnvironment(pr)),
  async run(ctx) {
    const pr = ctx.params;
    const allowMissing = pr.model.kind === "gbt";
    const cols = { features: pr.features, label: pr.label, weight: pr.weight };
    const trainData = labeledData(ctx.inputs.table("train"), cols, "training table", allowMissing);
    let validation;
    if (ctx.inputs.has("validation")) {
      const vt = ctx.inputs.table("validation");
      validation = labeledData(
        vt,
        { ...cols, weight: pr.validation_weight, weightParam: ["validation_weight"] },
        "validation table",
        allowMissing,
      );
      if (pr.weight !== undefined && pr.validation_weight === undefined && vt.columns.has(pr.weight))
        ctx.note(`validation loss is unweighted; set validation_weight: ${pr.weight} to weight it`);
    }
    const trainer = networkTrainer(pr);
    if (trainer === "wasm" && pr.backend !== "auto")
      ctx.note(
        `backend: ${pr.backend} applies to the tfjs trainer; this network trains on the WebAssembly trainer (set trainer: tfjs to use tfjs)`,
      );
    const { trainModel } = await import("./lib/model-kinds.js");
    const r = await trainModel({
      spec: pr.model,
      columns: cols,
      train: trainData,
      validation,
      seed: ctx.seed,
      trainer: pr.trainer,
      backend: pr.backend,
      threads: Math.max(1, Math.min(ctx.jobs, 64)),
      progress: (f, line) => ctx.progress(f, line),
      signal: ctx.signal,
    });
    const m = r.metrics;
    return {
      outputs: { model: model(r.artifact), history: table(r.history), metrics: metrics(m) },
      summary: {
        kind: pr.model.kind,
        ...r.run,
        train_rows: trainData.n,
        ...(m.epochs_run !== undefined ? { epochs_run: m.epochs_run } : {}),
        ...(m.val_loss !== undefined ? { val_loss: m.val_loss } : {}),
        ...(m.val_accuracy !== undefined ? { val_accuracy: m.val_accuracy } : {}),
      },
    };
  },
});
