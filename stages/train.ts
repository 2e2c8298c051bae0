/**
 * `train`: fits one model of any registered kind (a neural network, gradient-boosted trees, ...)
 * on a table, with an optional validation table, and outputs the model, its training history and
 * metrics. History and metrics are deterministic (same seed, same bytes); wall-clock times go to
 * the run summary. The kinds and their specs are in docs/training.md and docs/gbt.md.
 */
import { defineStage, metrics, model, table, type ParamProblem } from "../core/stage.js";
import { p } from "../core/schema.js";
import { defaultModelKinds, kindNamed, type ModelKinds } from "./lib/models/index.js";
import { checkTrainingParams, trainingEnvironment, trainingFields } from "./lib/models/training.js";
import { labeledData, labeledDataHash } from "./lib/labeled.js";
import { modelPreparation } from "./lib/models/preparation.js";
import { modelExporter } from "./lib/models/exporter.js";

export function makeTrainStage(kinds: ModelKinds) {
  const params = p.object({
    ...trainingFields(kinds),
    validation_weight: p.optional(
      p.column({ description: "weight column of the validation table (unset: unweighted validation)" }),
    ),
  });
  const names = [...kinds.values()];
  return defineStage({
    type: "train",
    // 4: models record their features' lineage and the training-data hash, and may carry a scaler
    version: 4,
    description: `Train a classifier (${names.map((k) => k.description).join(", or ")}) on a table`,
    inputs: {
      train: { kind: "table", description: "training rows: features, label and optional weight" },
      validation: {
        kind: "table",
        description: "rows scored after each epoch (val_loss, early stopping)",
        optional: true,
      },
      preprocess: {
        kind: "metrics",
        description:
          "a fitted scaler (a scale stage's `scaler` output, or a chain) the model carries: train and predict then take raw tables",
        optional: true,
      },
    },
    outputs: {
      model: { kind: "model", description: "the trained model, for predict" },
      history: {
        kind: "table",
        description: `the training history, ${names.map((k) => `${k.name}: ${k.historyColumns}`).join("; ")}`,
      },
      metrics: {
        kind: "metrics",
        description: "final loss/accuracy/val figures, epochs, parameters, trainer",
      },
    },
    params,
    random: true,
    check(pr): ParamProblem[] {
      const problems = checkTrainingParams(kinds, pr);
      if (pr.validation_weight !== undefined && pr.validation_weight === pr.label)
        problems.push({
          path: ["validation_weight"],
          code: "QV_WEIGHT_IS_LABEL",
          message: "the validation weight is the label column",
        });
      return problems;
    },
    environment: (pr) => Promise.resolve(trainingEnvironment(kinds, pr)),
    exporters: { model: modelExporter(kinds) },
    async run(ctx) {
      const pr = ctx.params;
      const kind = kindNamed(kinds, pr.model.kind);
      const missing = kind.acceptsMissing ? "allow" : "refuse";
      const cols = { features: pr.features, label: pr.label, weight: pr.weight };
      const trainTable = ctx.inputs.table("train");
      const trainData = labeledData(trainTable, cols, "training table", missing);
      const validationTable = ctx.inputs.has("validation") ? ctx.inputs.table("validation") : undefined;
      const prep = await modelPreparation(
        ctx.inputs.has("preprocess") ? ctx.inputs.metrics("preprocess") : undefined,
        pr.features,
        [
          { table: trainTable, what: "training table" },
          ...(validationTable ? [{ table: validationTable, what: "validation table" }] : []),
        ],
      );
      let validation;
      if (validationTable) {
        const vt = validationTable;
        validation = labeledData(
          vt,
          { ...cols, weight: pr.validation_weight, weightParam: ["validation_weight"] },
          "validation table",
          missing,
        );
        if (pr.weight !== undefined && pr.validation_weight === undefined && vt.columns.has(pr.weight))
          ctx.note(`validation loss is unweighted; set validation_weight: ${pr.weight} to weight it`);
      }
      const { describeModel, trainModel } = await import("./lib/models/envelope.js");
      const r = await trainModel(kind, {
        spec: pr.model,
        columns: cols,
        train: trainData,
        validation,
        seed: ctx.seed,
        options: { trainer: pr.trainer, backend: pr.backend, threads: Math.max(1, Math.min(ctx.jobs, 64)) },
        what: "training table",
        lineage: prep.lineage,
        preprocess: prep.preprocess,
        trainingData: { rows: trainData.n, hash: await labeledDataHash(trainData) },
        progress: (f, line) => ctx.progress(f, line),
        note: (m) => ctx.note(m),
        signal: ctx.signal,
      });
      const m = r.metrics;
      const described = await describeModel(kinds, r.artifact);
      return {
        outputs: { model: model(r.artifact), history: table(r.history), metrics: metrics(m) },
        summary: {
          kind: kind.name,
          model: described.summary,
          ...r.run,
          train_rows: trainData.n,
          ...(prep.preprocess.length > 0 ? { preprocess: prep.scaled } : {}),
          ...(m.epochs_run !== undefined ? { epochs_run: m.epochs_run } : {}),
          ...(m.val_loss !== undefined ? { val_loss: m.val_loss } : {}),
          ...(m.val_accuracy !== undefined ? { val_accuracy: m.val_accuracy } : {}),
        },
      };
    },
    async present(ctx) {
      return (await import("./lib/present/train.js")).presentTrain(kinds, ctx);
    },
  });
}

export const trainStage = makeTrainStage(defaultModelKinds);
