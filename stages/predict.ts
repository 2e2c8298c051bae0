/**
 * `predict`: applies a trained model (from `train`, or the k models of `kfold`, averaged) to any
 * table and appends its score, the probability of class 1, as a float64 column. The column is
 * named after the stage that trained the model, so several models can score the same table
 * side by side and evaluation stages can tell them apart. Networks trained by the WebAssembly
 * trainer are scored on its kernels, tfjs-trained ones with tfjs.
 */
import { defineStage, StageError, table, type ModelArtifact } from "../core/stage.js";
import { isJsonObject } from "../core/json.js";
import { p } from "../core/schema.js";
import { float64Column, withColumn } from "../core/table.js";
import { BACKEND_CHOICES, nnEnvironment } from "./lib/nn/backend.js";
import { MLP_TRAINER_ID } from "./lib/nn/wasm-spec.js";

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

/** "stage.port" → "stage". */
export function producingStage(inputFrom: string | undefined): string | undefined {
  if (inputFrom === undefined) return undefined;
  const dot = inputFrom.indexOf(".");
  return dot < 0 ? inputFrom : inputFrom.slice(0, dot);
}

export const predictStage = defineStage({
  type: "predict",
  version: 1,
  description: "Score a table with a trained model, appending a column with the probability of class 1",
  inputs: {
    model: { kind: "model", description: "a model from train (or kfold: the fold models' mean)" },
    table: { kind: "table", description: "rows to score; must hold the model's feature columns" },
  },
  outputs: { table: { kind: "table", description: "the input table plus the score column" } },
  params,
  // Networks' float32 arithmetic can differ between backends: the backend is part of the result,
  // and so are the WebAssembly kernels that score wasm-trained networks (not their thread count).
  environment: (pr) => Promise.resolve({ ...nnEnvironment(pr.backend), wasm: MLP_TRAINER_ID }),
  async run(ctx) {
    const m = ctx.inputs.model("model");
    const t = ctx.inputs.table("table");
    const name = ctx.params.column ?? producingStage(ctx.inputFrom.model) ?? "score";
    if (t.columns.has(name))
      throw new StageError("QV_COLUMN_EXISTS", `the table already has a column "${name}"`, {
        ...(ctx.params.column !== undefined ? { param: ["column"] } : {}),
        hint: "set `column:` to another name for the score",
      });
    const { scoreModel } = await import("./lib/model-kinds.js");
    const score = await scoreModel(m, t, {
      backend: ctx.params.backend,
      threads: Math.max(1, Math.min(ctx.jobs, 64)),
    });
    return {
      outputs: { table: table(withColumn(t, name, float64Column(score))) },
      summary: {
        rows: t.numRows,
        column: name,
        kind: typeof m.meta.kind === "string" ? m.meta.kind : "kfold",
        ...(scorer(m) !== undefined ? { scorer: scorer(m)! } : {}),
      },
    };
  },
});

/** Which code scored a model: the trainer named in its network meta (first fold for kfold). */
function scorer(m: ModelArtifact): string | undefined {
  const meta = Array.isArray(m.meta.folds) ? m.meta.folds[0] : m.meta;
  if (!isJsonObject(meta) || meta.kind !== "nn") return undefined;
  const nn = meta.nn;
  return isJsonObject(nn) && typeof nn.trainer === "string" ? nn.trainer : "tfjs";
}
