/**
 * `kfold`: cross-validated training. Splits the table into k seeded folds (optionally stratified),
 * trains the same model spec k times with one fold held out as validation, and reports per-fold
 * validation loss, accuracy and AUC with their mean ± standard deviation, the k models, and
 * out-of-fold scores for every row.
 *
 * Each fold is memoised on its own (key: fold, k, seeds, spec, columns, a hash of the data), so
 * an interrupted run, or a second kfold stage that shares folds, does not retrain them.
 * Networks on the WebAssembly trainer run their folds one after another, each on up to `jobs`
 * threads (its results do not depend on the thread count); tfjs and gbt folds run in parallel
 * worker threads, up to the engine's jobs (tfjs is single-threaded per thread).
 * With `rng: numpy` the folds are scikit-learn's KFold / StratifiedKFold(shuffle=True, random_state=R)
 * test folds (stages/lib/sampling/folds.ts); the models' own seeds still come from the stage seed.
 */
import {
  defineStage,
  metrics,
  model,
  StageError,
  table,
  type ArtifactValue,
  type ModelArtifact,
} from "../core/stage.js";
import { p } from "../core/schema.js";
import { isJsonObject, type JsonObject } from "../core/json.js";
import {
  float64Column,
  int32Column,
  makeTable,
  numericValues,
  withColumn,
  type Table,
} from "../core/table.js";
import { deriveSeed } from "./lib/random.js";
import { kFoldAssignment } from "./lib/folds.js";
import { checkSampling, numpyState, samplingFields, samplingFingerprint } from "./lib/sampling/mode.js";
import { numpyFoldAssignment } from "./lib/sampling/folds.js";
import { checkTrainingParams, networkTrainer, trainingEnvironment, trainingFields } from "./lib/nn/params.js";
import { columnOf, labeledData, type LabeledData } from "./lib/nn/data.js";
import { meanStd } from "./lib/nn/metrics.js";
import { checkGbtWeights } from "./lib/training-checks.js";
import { ownBuffer } from "./lib/nn/network.js";
import { concatParts, constantColumn } from "./lib/io/combine.js";
import { tableFromArrowIPC, tableToArrowIPC } from "../core/arrow-codec.js";

const params = p.object({
  ...trainingFields,
  k: p.withDefault(p.integer({ min: 2, description: "number of folds" }), 5),
  stratify: p.withDefault(
    p.union([p.boolean(), p.column()], {
      description: "true: keep the label's class balance in every fold; a column name: stratify by it",
    }),
    false,
  ),
  column: p.optional(
    p.string({ description: "name of the out-of-fold score column (default: this stage's id)" }),
  ),
  fold_column: p.optional(p.string({ description: "also add the fold index of each row under this name" })),
  ...samplingFields,
});

const OOF_BLOB = "quiver.oof";
const HISTORY_BLOB = "quiver.history";

function subset(d: LabeledData, rows: Int32Array): LabeledData {
  const pick = (v: Float64Array) => {
    const out = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = v[rows[i]!]!;
    return out;
  };
  const labels = new Uint8Array(rows.length);
  for (let i = 0; i < rows.length; i++) labels[i] = d.labels[rows[i]!]!;
  return {
    n: rows.length,
    features: d.features.map(pick),
    labels,
    weights: d.weights ? pick(d.weights) : undefined,
  };
}

function stratifyClasses(t: Table, data: LabeledData, stratify: boolean | string): Int32Array | undefined {
  if (stratify === false) return undefined;
  if (stratify === true) return Int32Array.from(data.labels);
  const c = columnOf(t, stratify, ["stratify"], "table");
  if (c.type === "dict") return c.codes;
  if (c.type === "int32") return c.values;
  const v = numericValues(c);
  const out = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isInteger(v[i]!))
      throw new StageError(
        "QV_STRATIFY",
        `stratify column "${stratify}" has the non-integer value ${v[i]} in row ${i}`,
        {
          param: ["stratify"],
          data: { row: i, column: stratify },
          hint: "stratify by a class column (integers or text)",
        },
      );
    out[i] = v[i]!;
  }
  return out;
}

/** A content hash of everything the folds read, for their memo keys (the engine keys inputs, not memos). */
async function dataHash(data: LabeledData, classes: Int32Array | undefined): Promise<string> {
  const { default: xxhash } = await import("xxhash-wasm");
  const h = (await xxhash()).create64();
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  h.update(`n=${data.n};d=${data.features.length};`);
  for (const f of data.features) h.update(bytes(f));
  h.update("labels;").update(data.labels);
  if (data.weights) h.update("weights;").update(bytes(data.weights));
  if (classes) h.update("classes;").update(bytes(classes));
  return h.digest().toString(16).padStart(16, "0");
}

function num(m: JsonObject, key: string): number {
  const v = m[key];
  return typeof v === "number" ? v : NaN;
}

/** NaN (e.g. AUC of a fold with one class) is not JSON: it becomes null. */
function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export const kfoldStage = defineStage({
  type: "kfold",
  version: 2,
  description: "k-fold cross-validated training: per-fold validation metrics, k models, out-of-fold scores",
  inputs: {
    table: { kind: "table", description: "rows to split into folds: features, label, optional weight" },
  },
  outputs: {
    models: { kind: "model", description: "the k models (predict averages their scores)" },
    oof: {
      kind: "table",
      description: "the input table plus each row's score from the model that did not see it",
    },
    metrics: {
      kind: "metrics",
      description: "per-fold val_loss, val_accuracy, val_auc and their mean ± std",
    },
    history: {
      kind: "table",
      description:
        "per fold and epoch: fold, epoch, loss, accuracy, val_loss, val_accuracy (gbt: fold, tree, loss)",
      usageOptional: true,
    },
  },
  params,
  random: true,
  check: (pr) => [...checkTrainingParams(pr), ...checkSampling(pr, true)],
  fingerprintParams: samplingFingerprint,
  environment: (pr) => Promise.resolve(trainingEnvironment(pr)),
  async run(ctx) {
    const pr = ctx.params;
    const t = ctx.inputs.table("table");
    const cols = { features: pr.features, label: pr.label, weight: pr.weight };
    const data = labeledData(t, cols, "table", pr.model.kind === "gbt");
    const classes = stratifyClasses(t, data, pr.stratify);
    const foldSeed = deriveSeed(ctx.seed, "folds");
    let folds: Int32Array;
    try {
      folds =
        pr.rng === "numpy"
          ? numpyFoldAssignment(data.n, pr.k, numpyState(pr), classes)
          : kFoldAssignment(data.n, pr.k, foldSeed, classes);
    } catch (e) {
      if (e instanceof StageError && e.param === undefined)
        throw new StageError(e.code, e.message, { param: ["k"], ...(e.hint ? { hint: e.hint } : {}) });
      throw e;
    }
    // Checked on the whole table so that a bad row is named by its row number there.
    if (pr.model.kind === "gbt" && data.weights) checkGbtWeights(data.weights, pr.weight, "table");
    const hash = await dataHash(data, classes);
    const environment = trainingEnvironment(pr);
    const { packFolds } = await import("./lib/model-kinds.js");
    const { runFold, FoldPool } = await import("./lib/nn/fold-runner.js");

    const rowsOf = (i: number) => {
      const trainRows: number[] = [];
      const valRows: number[] = [];
      for (let r = 0; r < data.n; r++) (folds[r] === i ? valRows : trainRows).push(r);
      return { tr: Int32Array.from(trainRows), va: Int32Array.from(valRows) };
    };
    // Progress of each fold, so parallel folds report one overall fraction.
    const done = new Float64Array(pr.k);
    const report = (i: number, f: number, line: string) => {
      done[i] = f;
      ctx.progress(done.reduce((a, b) => a + b, 0) / pr.k, `fold ${i + 1}/${pr.k}: ${line}`);
    };
    // The wasm trainer uses the jobs as threads of one fold at a time; the others, one fold per worker.
    const wasm = networkTrainer(pr) === "wasm";
    const threads = Math.max(1, Math.min(ctx.jobs, 64));
    const concurrency = wasm ? 1 : Math.max(1, Math.min(ctx.jobs, pr.k));
    const pool = concurrency > 1 ? new FoldPool(concurrency) : undefined;

    const foldValue = (i: number): Promise<ArtifactValue> => {
      const key = {
        fold: i,
        k: pr.k,
        stratify: pr.stratify,
        seed: ctx.seed,
        data: hash,
        features: pr.features,
        label: pr.label,
        weight: pr.weight ?? null,
        model: pr.model as unknown as JsonObject,
        environment,
        // Only in numpy mode, so that the memo keys of Quiver-generator folds stay as they were.
        ...(pr.rng === "numpy" ? { rng: pr.rng, random_state: pr.random_state ?? null } : {}),
      };
      return ctx.memo(key, async () => {
        const { tr, va } = rowsOf(i);
        const task = {
          spec: pr.model,
          columns: cols,
          train: subset(data, tr),
          validation: subset(data, va),
          seed: deriveSeed(ctx.seed, `fold${i}`),
          trainer: pr.trainer,
          backend: pr.backend,
          threads: wasm ? threads : 1,
          what: `training rows of fold ${i + 1}`,
        };
        const progress = (f: number, line: string) => report(i, f, line);
        const out = pool
          ? await pool.run(task, progress, ctx.signal)
          : await runFold(task, progress, ctx.signal);
        return model({
          // Only deterministic facts: the memo is shared by runs with any timing or thread count.
          meta: { fold: i, model: out.artifact.meta, metrics: out.metrics },
          blobs: {
            ...out.artifact.blobs,
            [OOF_BLOB]: new Uint8Array(out.oof.buffer.slice(0)),
            [HISTORY_BLOB]: await tableToArrowIPC(out.history),
          },
        });
      });
    };

    // Up to `concurrency` folds at a time; results land by fold index, whatever finishes first.
    const values: ArtifactValue[] = new Array<ArtifactValue>(pr.k);
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < pr.k) {
            const i = next++;
            values[i] = await foldValue(i);
          }
        }),
      );
    } finally {
      await pool?.close();
    }

    const foldModels: ModelArtifact[] = [];
    const histories: { file: string; table: Table }[] = [];
    const foldMetrics: JsonObject[] = [];
    const oof = new Float64Array(data.n).fill(NaN);
    for (let i = 0; i < pr.k; i++) {
      const value = values[i];
      if (value?.kind !== "model") throw new Error("kfold memo returned a non-model value");
      const { va, tr } = rowsOf(i);
      const { meta, blobs } = value.model;
      const { [OOF_BLOB]: oofBytes, [HISTORY_BLOB]: historyBytes, ...modelBlobs } = blobs;
      if (!historyBytes) throw new Error("kfold memo entry has no history");
      const h = await tableFromArrowIPC(historyBytes);
      histories.push({
        file: `fold ${i}`,
        table: makeTable([["fold", constantColumn(i, h.numRows)], ...h.columns]),
      });
      const inner = meta.model;
      const m = meta.metrics;
      if (!oofBytes || !isJsonObject(inner) || !isJsonObject(m))
        throw new Error("kfold memo entry is incomplete");
      if (oofBytes.byteLength % 8 !== 0) throw new Error("kfold memo entry has a truncated score blob");
      const score = new Float64Array(ownBuffer(oofBytes));
      if (score.length !== va.length) throw new Error("kfold memo entry has the wrong number of scores");
      for (let j = 0; j < va.length; j++) oof[va[j]!] = score[j]!;
      foldModels.push({ meta: inner, blobs: modelBlobs });
      foldMetrics.push({
        fold: i,
        train_rows: tr.length,
        val_rows: va.length,
        val_loss: finite(num(m, "val_loss")),
        val_accuracy: finite(num(m, "val_accuracy")),
        val_auc: finite(num(m, "val_auc")),
        ...(m.epochs_run !== undefined ? { epochs_run: m.epochs_run } : {}),
        ...(m.best_epoch !== undefined ? { best_epoch: m.best_epoch } : {}),
      });
    }

    const summaryOf = (key: string) => {
      const s = meanStd(foldMetrics.map((f) => num(f, key)));
      return { mean: finite(s.mean), std: finite(s.std) };
    };
    const out: JsonObject = {
      k: pr.k,
      std: "population (ddof 0, numpy's default)",
      folds: foldMetrics,
      val_loss: summaryOf("val_loss"),
      val_accuracy: summaryOf("val_accuracy"),
      val_auc: summaryOf("val_auc"),
      oof_rows: data.n,
    };
    const scoreName = pr.column ?? ctx.stageId;
    if (t.columns.has(scoreName))
      throw new StageError("QV_COLUMN_EXISTS", `the table already has a column "${scoreName}"`, {
        ...(pr.column !== undefined ? { param: ["column"] } : {}),
        hint: "set `column:` to another name for the out-of-fold score",
      });
    let oofTable = withColumn(t, scoreName, float64Column(oof));
    if (pr.fold_column !== undefined) {
      if (oofTable.columns.has(pr.fold_column))
        throw new StageError("QV_COLUMN_EXISTS", `the table already has a column "${pr.fold_column}"`, {
          param: ["fold_column"],
        });
      oofTable = withColumn(oofTable, pr.fold_column, int32Column(folds));
    }
    const vl = meanStd(foldMetrics.map((f) => num(f, "val_loss")));
    let foldThreads = 1;
    if (wasm && pr.model.kind === "nn") {
      const { usefulThreads } = await import("./lib/nn/wasm-train.js");
      foldThreads = usefulThreads(pr.model, pr.features.length, data.n - Math.ceil(data.n / pr.k), threads);
    }
    return {
      outputs: {
        models: model(packFolds(foldModels, { stratify: pr.stratify })),
        oof: table(oofTable),
        metrics: metrics(out),
        history: table(concatParts(histories)),
      },
      summary: {
        k: pr.k,
        val_loss: `${vl.mean.toFixed(5)} ± ${vl.std.toFixed(5)}`,
        rows: data.n,
        trainer:
          isJsonObject(environment) && typeof environment.trainer === "string" ? environment.trainer : null,
        ...(wasm ? { threads: foldThreads } : { workers: concurrency }),
      },
    };
  },
});
