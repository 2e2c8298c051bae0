/**
 * `kfold`: cross-validated training. Splits the table into k seeded folds (optionally stratified),
 * trains the same model spec k times with one fold held out as validation, and reports per-fold
 * validation loss, accuracy and AUC with their mean ± standard deviation, the k models, and
 * out-of-fold scores for every row.
 *
 * Each fold is memoised on its own (key: fold, k, seeds, spec, columns, a hash of the data), so
 * an interrupted run, or a second kfold stage that shares folds, does not retrain them.
 * The model kind says how its folds run (`foldExecution`): networks on the WebAssembly trainer
 * one after another, each on up to `jobs` threads (results do not depend on the thread count);
 * tfjs networks and trees in parallel worker threads, up to the engine's jobs.
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
import { float64Column, int32Column, makeTable, withColumn, withLineage, type Table } from "../core/table.js";
import { scoreStep } from "./lib/lineage.js";
import { deriveSeed } from "../core/seed.js";
import { meanStd } from "../core/stats.js";
import { kFoldAssignment } from "./lib/folds.js";
import { classLabels } from "./lib/columns.js";
import { finite } from "./lib/finite.js";
import { labeledData, labeledDataHash, type LabeledData } from "./lib/labeled.js";
import { defaultModelKinds, kindNamed, type ModelKinds } from "./lib/models/index.js";
import type { FoldExecution } from "./lib/models/kind.js";
import {
  checkTrainingParams,
  planContext,
  trainingEnvironment,
  trainingFields,
} from "./lib/models/training.js";
import { checkSampling, numpyState, samplingFields, samplingFingerprint } from "./lib/sampling/mode.js";
import { numpyFoldAssignment } from "./lib/sampling/folds.js";
import { ownBuffer } from "./lib/nn/network.js";
import { concatParts, constantColumn } from "./lib/io/combine.js";
import { tableFromArrowIPC, tableToArrowIPC } from "../core/arrow-codec.js";
import { modelPreparation } from "./lib/models/preparation.js";
import { modelExporter } from "./lib/models/exporter.js";
import { chainMetrics } from "./lib/preprocess.js";

function paramsOf(kinds: ModelKinds) {
  return p.object({
    ...trainingFields(kinds),
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
}

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
  return classLabels(t, stratify, { what: "table", param: ["stratify"] });
}

/** A content hash of everything the folds read, for their memo keys (the engine keys inputs, not memos). */
function dataHash(data: LabeledData, classes: Int32Array | undefined): Promise<string> {
  return labeledDataHash(data, classes ? { classes } : {});
}

/** The threads a trainer may use: the engine's jobs, at most 64. */
function threadCap(jobs: number): number {
  return Math.max(1, Math.min(jobs, 64));
}

function num(m: JsonObject, key: string): number {
  const v = m[key];
  return typeof v === "number" ? v : NaN;
}

export function makeKfoldStage(kinds: ModelKinds) {
  return defineStage({
    type: "kfold",
    // 4: fold models record their features' lineage and training-data hash, and may carry a scaler
    version: 4,
    description: "k-fold cross-validated training: per-fold validation metrics, k models, out-of-fold scores",
    inputs: {
      table: { kind: "table", description: "rows to split into folds: features, label, optional weight" },
      preprocess: {
        kind: "metrics",
        description:
          "a fitted scaler (a scale stage's `scaler` output, or a chain) the fold models carry: the table and predict's tables are then raw",
        optional: true,
      },
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
        description: `the training history of each fold, a fold column first, ${[...kinds.values()].map((k) => `${k.name}: ${k.historyColumns}`).join("; ")}`,
        usageOptional: true,
      },
    },
    params: paramsOf(kinds),
    random: true,
    check: (pr) => [...checkTrainingParams(kinds, pr), ...checkSampling(pr, true)],
    fingerprintParams: samplingFingerprint,
    environment: (pr) => Promise.resolve(trainingEnvironment(kinds, pr)),
    exporters: { models: modelExporter(kinds) },
    async run(ctx) {
      const pr = ctx.params;
      const kind = kindNamed(kinds, pr.model.kind);
      const t = ctx.inputs.table("table");
      const cols = { features: pr.features, label: pr.label, weight: pr.weight };
      const data = labeledData(t, cols, "table", kind.acceptsMissing ? "allow" : "refuse");
      const prep = await modelPreparation(
        ctx.inputs.has("preprocess") ? ctx.inputs.metrics("preprocess") : undefined,
        pr.features,
        [{ table: t, what: "table" }],
      );
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
      kind.checkData?.(data, cols, "table");
      const hash = await dataHash(data, classes);
      const environment = trainingEnvironment(kinds, pr);
      const { packFolds } = await import("./lib/models/envelope.js");
      const { runFold, FoldPool } = await import("./lib/models/folds.js");

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
      // One fold at a time on several threads, or one fold per worker thread: the kind decides.
      const trainRows = data.n - Math.ceil(data.n / pr.k);
      const asked: FoldExecution = kind.foldExecution
        ? await kind.foldExecution(pr.model, { ...planContext(pr), trainRows, jobs: ctx.jobs })
        : { mode: "sequential", threads: threadCap(ctx.jobs), threadsUsed: threadCap(ctx.jobs) };
      // Worker threads know Quiver's own kinds only; another kind's folds run here, one thread each.
      const execution: FoldExecution =
        asked.mode === "workers" && defaultModelKinds.get(kind.name) !== kind
          ? { mode: "sequential", threads: 1, threadsUsed: 1 }
          : asked;
      const concurrency = execution.mode === "workers" ? Math.max(1, Math.min(ctx.jobs, pr.k)) : 1;
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
          lineage: prep.lineage,
          preprocess: prep.preprocess.length > 0 ? chainMetrics(prep.preprocess) : null,
          // Only in numpy mode, so that the memo keys of Quiver-generator folds stay as they were.
          ...(pr.rng === "numpy" ? { rng: pr.rng, random_state: pr.random_state ?? null } : {}),
        };
        return ctx.memo(key, async () => {
          const { tr, va } = rowsOf(i);
          const train = subset(data, tr);
          const task = {
            spec: pr.model,
            columns: cols,
            train,
            validation: subset(data, va),
            lineage: prep.lineage,
            preprocess: prep.preprocess,
            trainingData: { rows: train.n, hash: await labeledDataHash(train) },
            seed: deriveSeed(ctx.seed, `fold${i}`),
            options: {
              trainer: pr.trainer,
              backend: pr.backend,
              threads: execution.mode === "sequential" ? execution.threads : 1,
            },
            what: `training rows of fold ${i + 1}`,
          };
          const progress = (f: number, line: string) => report(i, f, line);
          const out = pool
            ? await pool.run(kind.name, task, progress, ctx.signal)
            : await runFold(kind, task, progress, ctx.signal);
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
        const s = meanStd(
          foldMetrics.map((f) => num(f, key)),
          0,
        );
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
      const packed = packFolds(foldModels, { stratify: pr.stratify });
      // The same step as predict's score with these models: stacking on oof scores and applying
      // the stack to predict's scores is one preparation.
      let oofTable = withColumn(t, scoreName, withLineage(float64Column(oof), [await scoreStep(packed)]));
      if (pr.fold_column !== undefined) {
        if (oofTable.columns.has(pr.fold_column))
          throw new StageError("QV_COLUMN_EXISTS", `the table already has a column "${pr.fold_column}"`, {
            param: ["fold_column"],
          });
        oofTable = withColumn(oofTable, pr.fold_column, int32Column(folds));
      }
      const vl = meanStd(
        foldMetrics.map((f) => num(f, "val_loss")),
        0,
      );
      return {
        outputs: {
          models: model(packed),
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
          ...(execution.mode === "sequential"
            ? { threads: execution.threadsUsed }
            : { workers: concurrency }),
        },
      };
    },
    async present(ctx) {
      return (await import("./lib/present/train.js")).presentKfold(kinds, ctx);
    },
  });
}

export const kfoldStage = makeKfoldStage(defaultModelKinds);
