/**
 * `predict`: applies a trained model (from `train`, or the k models of `kfold`, averaged) to any
 * table and appends its score, the probability of class 1, as a float64 column. The column is
 * named after the stage that trained the model, so several models can score the same table
 * side by side and evaluation stages can tell them apart. Each model kind scores its own models
 * (networks trained by the WebAssembly trainer on its kernels, tfjs-trained ones with tfjs).
 */
import { defineStage, StageError, table } from "../core/stage.js";
import type { JsonObject } from "../core/json.js";
import { p } from "../core/schema.js";
import { float64Column, withColumn, withLineage } from "../core/table.js";
import { scoreStep } from "./lib/lineage.js";
import { BACKEND_CHOICES } from "./lib/nn/backend.js";
import { defaultModelKinds, type ModelKinds } from "./lib/models/index.js";

/** "stage.port" → "stage". */
function producingStage(inputFrom: string | undefined): string | undefined {
  if (inputFrom === undefined) return undefined;
  const dot = inputFrom.indexOf(".");
  return dot < 0 ? inputFrom : inputFrom.slice(0, dot);
}

export function makePredictStage(kinds: ModelKinds) {
  const params = p.object({
    column: p.optional(
      p.string({
        description: "name of the score column (default: the id of the stage that trained the model)",
      }),
    ),
    backend: p.withDefault(
      p.enum(BACKEND_CHOICES, { description: "tfjs backend for networks trained by tfjs (see train)" }),
      "auto",
    ),
  });
  return defineStage({
    type: "predict",
    // 2: refuses tables prepared unlike the training table; the score column carries a score step
    version: 2,
    description: "Score a table with a trained model, appending a column with the probability of class 1",
    inputs: {
      model: { kind: "model", description: "a model from train (or kfold: the fold models' mean)" },
      table: { kind: "table", description: "rows to score; must hold the model's feature columns" },
    },
    outputs: { table: { kind: "table", description: "the input table plus the score column" } },
    params,
    // What scoring depends on beyond the model, for every kind this stage could be handed (the
    // model's kind is not known while planning).
    environment(pr) {
      const env: JsonObject = {};
      for (const k of kinds.values()) Object.assign(env, k.scoringEnvironment?.({ backend: pr.backend }));
      return Promise.resolve(env);
    },
    async run(ctx) {
      const m = ctx.inputs.model("model");
      const t = ctx.inputs.table("table");
      const name = ctx.params.column ?? producingStage(ctx.inputFrom.model) ?? "score";
      if (t.columns.has(name))
        throw new StageError("QV_COLUMN_EXISTS", `the table already has a column "${name}"`, {
          ...(ctx.params.column !== undefined ? { param: ["column"] } : {}),
          hint: "set `column:` to another name for the score",
        });
      const { describeModel, scoreModel } = await import("./lib/models/envelope.js");
      // The names are read only for an error message (a read puts them in the result's key).
      const score = await scoreModel(
        kinds,
        m,
        t,
        { backend: ctx.params.backend, threads: Math.max(1, Math.min(ctx.jobs, 64)) },
        () => ({
          model: producingStage(ctx.inputFrom.model) ?? "the model",
          table: `from ${ctx.inputFrom.table ?? "the table input"}`,
        }),
      );
      const step = await scoreStep(m);
      const column = withLineage(float64Column(score), [step]);
      const described = await describeModel(kinds, m);
      return {
        outputs: { table: table(withColumn(t, name, column)) },
        summary: {
          rows: t.numRows,
          column: name,
          lineage: { [name]: step },
          kind: typeof m.meta.kind === "string" ? m.meta.kind : "kfold",
          model: described.summary,
          scorer: described.trainer,
        },
      };
    },
  });
}

export const predictStage = makePredictStage(defaultModelKinds);
