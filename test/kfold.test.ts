import { describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { runStage } from "./support/stage-harness.js";
import { validate } from "../core/schema.js";
import { canonicalJson, type JsonObject } from "../core/json.js";
import { StageError, table as tableValue, type ArtifactValue, type StageResult } from "../core/stage.js";
import type { Table } from "../core/table.js";
import { Rng } from "../stages/lib/random.js";
import { kfoldStage } from "../stages/kfold.js";
import { predictStage } from "../stages/predict.js";
import { weightedAuc } from "../stages/lib/eval/auc.js";
import { tableOf } from "./fixtures/nn/helpers.js";
import { MLP_TRAINER_ID } from "../stages/lib/mlp/index.js";

function events(n: number, seed: number): Table {
  const rng = new Rng(seed);
  const cols = { x0: [] as number[], x1: [] as number[], label: [] as number[], w: [] as number[] };
  for (let i = 0; i < n; i++) {
    const y = rng.uniform() < 0.3 ? 1 : 0;
    cols.x0.push(rng.normal() + (y ? 1 : 0));
    cols.x1.push(rng.normal() * 2 - (y ? 1 : 0));
    cols.label.push(y);
    cols.w.push(0.5 + rng.uniform());
  }
  return tableOf(cols);
}

const nnParams = {
  features: ["x0", "x1"],
  model: { kind: "nn", layers: [{ dense: 8 }], optimizer: { adam: { lr: 0.01 } }, epochs: 4, batch_size: 32 },
};

/** A memo value as a store hands it back: blobs as Node Buffer views at odd offsets of a larger buffer. */
function asStored(v: ArtifactValue): ArtifactValue {
  if (v.kind !== "model") return v;
  const blobs: Record<string, Uint8Array> = {};
  for (const [name, bytes] of Object.entries(v.model.blobs)) {
    const pool = Buffer.alloc(bytes.byteLength + 16);
    pool.set(bytes, 3);
    blobs[name] = pool.subarray(3, 3 + bytes.byteLength);
  }
  return { kind: "model", model: { meta: v.model.meta, blobs } };
}

/** Runs kfold with a memo store shared across calls, counting how many folds were computed. */
function memoRunner() {
  const store = new Map<string, ArtifactValue>();
  let computed = 0;
  const run = async (params: Record<string, unknown>, input: Table, seed: number): Promise<StageResult> => {
    const { value, issues } = validate(kfoldStage.params.spec, params);
    assert.deepEqual(issues, []);
    return kfoldStage.run({
      stageId: "cv",
      params: value as Parameters<typeof kfoldStage.run>[0]["params"],
      seed,
      jobs: 1,
      signal: new AbortController().signal,
      file: (p) => path.resolve(p),
      files: (p) => [p],
      progress: () => {},
      note: () => {},
      inputFrom: { table: "events" },
      memo: async (key, compute) => {
        const k = canonicalJson(key);
        const hit = store.get(k);
        if (hit) return asStored(hit);
        computed++;
        const v = await compute();
        store.set(k, v);
        return v;
      },
      inputs: {
        has: (port) => port === "table",
        table: () => input,
        consume: () => assert.fail("kfold reads its table, it does not consume it"),
        model: () => assert.fail("no model input"),
        metrics: () => assert.fail("no metrics input"),
      },
    });
  };
  return { run, computed: () => computed };
}

function metricsOf(r: StageResult): JsonObject {
  return (r.outputs.metrics as { metrics: JsonObject }).metrics;
}

void describe("kfold", () => {
  void test("per-fold metrics, mean ± population std, out-of-fold scores for every row", async () => {
    const t = events(600, 1);
    const r = await runStage(kfoldStage, {
      params: { ...nnParams, weight: "w", k: 3, stratify: true, fold_column: "fold" },
      inputs: { table: tableValue(t) },
    });
    const m = metricsOf(r);
    const folds = m.folds as { val_rows: number; val_loss: number; val_auc: number }[];
    assert.equal(folds.length, 3);
    assert.equal(
      folds.reduce((a, f) => a + f.val_rows, 0),
      600,
    );
    const losses = folds.map((f) => f.val_loss);
    const mean = losses.reduce((a, b) => a + b, 0) / 3;
    const std = Math.sqrt(losses.reduce((a, b) => a + (b - mean) ** 2, 0) / 3);
    assert.ok(Math.abs((m.val_loss as { mean: number }).mean - mean) < 1e-12);
    assert.ok(Math.abs((m.val_loss as { std: number }).std - std) < 1e-12);

    const oof = (r.outputs.oof as { table: Table }).table;
    const score = oof.columns.get("test");
    const fold = oof.columns.get("fold");
    assert.ok(score?.type === "float64" && fold?.type === "int32");
    assert.ok(score.values.every((v) => v > 0 && v < 1));
    // Each fold's reported AUC is the AUC of its out-of-fold scores: the scores sit in the right rows.
    const labelCol = t.columns.get("label");
    const wCol = t.columns.get("w");
    assert.ok(labelCol?.type === "float64" && wCol?.type === "float64");
    for (let f = 0; f < 3; f++) {
      const rows = [...fold.values.keys()].filter((i) => fold.values[i] === f);
      const s = Float64Array.from(rows, (i) => score.values[i]!);
      const y = Uint8Array.from(rows, (i) => labelCol.values[i]!);
      const w = Float64Array.from(rows, (i) => wCol.values[i]!);
      assert.ok(Math.abs(weightedAuc(s, y, w) - folds[f]!.val_auc) < 1e-9, `fold ${f}`);
      // Stratified: every fold holds 30% ± 1 row of signal like the whole table.
      const pos = y.reduce((a, b) => a + b, 0);
      const total = labelCol.values.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(pos - total / 3) <= 1, `fold ${f} has ${pos} signal rows of ${total}`);
    }
    // The history: one block of epochs per fold, with the fold's own last val_loss.
    const h = (r.outputs.history as { table: Table }).table;
    const hf = h.columns.get("fold");
    const hv = h.columns.get("val_loss");
    const he = h.columns.get("epoch");
    if (hf?.type !== "int32" || hv?.type !== "float64" || he?.type !== "int32")
      throw new Error("history columns");
    const foldOf: Int32Array = hf.values;
    const epochOf: Int32Array = he.values;
    for (let f = 0; f < 3; f++) {
      const rows: number[] = [];
      for (let i = 0; i < foldOf.length; i++) if (foldOf[i] === f) rows.push(i);
      assert.ok(rows.length > 0, `fold ${f} has epochs`);
      assert.deepEqual(
        rows.map((i) => epochOf[i]),
        rows.map((_, j) => j + 1),
      );
    }
    // predict with the k models: the mean of the fold models' scores.
    const p = await runStage(predictStage, {
      params: { column: "s" },
      inputs: { model: r.outputs.models!, table: tableValue(t) },
    });
    const s = (p.outputs.table as { table: Table }).table.columns.get("s");
    assert.ok(s?.type === "float64" && s.values.every((v) => v > 0 && v < 1));
  });

  void test("each fold is cached on its own", async () => {
    const t = events(300, 2);
    const m = memoRunner();
    const a = await m.run({ ...nnParams, k: 3 }, t, 5);
    assert.equal(m.computed(), 3);
    const b = await m.run({ ...nnParams, k: 3, column: "oof_score" }, t, 5);
    assert.equal(m.computed(), 3, "renaming the score column retrains nothing");
    assert.deepEqual(metricsOf(a).folds, metricsOf(b).folds);
    await m.run({ ...nnParams, k: 3 }, t, 6);
    assert.equal(m.computed(), 6, "another seed trains its own folds");
    await m.run({ ...nnParams, k: 3 }, t, 5);
    assert.equal(m.computed(), 6, "going back to the first seed reuses its folds");
    await m.run({ ...nnParams, k: 3 }, events(300, 3), 5);
    assert.equal(m.computed(), 9, "other data retrains");
  });

  void test("wasm folds on 2 threads give the same models and metrics as on 1", async () => {
    const t = tableValue(events(300, 7));
    // Wide enough for the trainer to use a second thread (it does not for tiny networks).
    const params = {
      ...nnParams,
      k: 3,
      model: {
        ...nnParams.model,
        layers: [{ dense: 256 }, { dropout: 0.2 }, { dense: 128 }],
        batch_size: 256,
      },
    };
    const one = await runStage(kfoldStage, { params, inputs: { table: t }, jobs: 1, seed: 4 });
    const two = await runStage(kfoldStage, { params, inputs: { table: t }, jobs: 2, seed: 4 });
    assert.equal(one.summary?.trainer, MLP_TRAINER_ID);
    assert.equal(two.summary?.threads, 2);
    const blobs = (r: StageResult) =>
      (r.outputs.models as { model: { blobs: Record<string, Uint8Array> } }).model.blobs;
    assert.deepEqual(blobs(one), blobs(two));
    assert.deepEqual(metricsOf(one), metricsOf(two));
  });

  void test("tfjs folds in worker threads (jobs 2) give the same models and metrics as in-process", async () => {
    const t = tableValue(events(300, 7));
    const params = {
      ...nnParams,
      trainer: "tfjs",
      k: 3,
      model: { ...nnParams.model, layers: [{ dense: 8 }, { dropout: 0.2 }] },
    };
    const one = await runStage(kfoldStage, { params, inputs: { table: t }, jobs: 1, seed: 4 });
    const two = await runStage(kfoldStage, { params, inputs: { table: t }, jobs: 2, seed: 4 });
    const blobs = (r: StageResult) =>
      (r.outputs.models as { model: { blobs: Record<string, Uint8Array> } }).model.blobs;
    assert.deepEqual(Object.keys(blobs(two)).sort(), ["fold0/weights", "fold1/weights", "fold2/weights"]);
    assert.deepEqual(blobs(one), blobs(two));
    const strip = (m: JsonObject) => (m.folds as JsonObject[]).map((f) => ({ ...f }));
    assert.deepEqual(strip(metricsOf(one)), strip(metricsOf(two)));
  });

  void test("gbt: a negative weight is named by its row in the input table", async () => {
    const t = events(80, 9);
    const col = (name: string) => (t.columns.get(name) as { values: Float64Array }).values;
    const w = Float64Array.from(col("w"));
    w[61] = -2;
    await assert.rejects(
      runStage(kfoldStage, {
        params: { features: ["x0", "x1"], weight: "w", k: 2, model: { kind: "gbt", num_trees: 3 } },
        inputs: { table: tableValue(tableOf({ x0: col("x0"), x1: col("x1"), label: col("label"), w })) },
      }),
      (e: unknown) =>
        e instanceof StageError && e.code === "QV_GBT_WEIGHT" && e.data?.row === 61 && e.data.column === "w",
    );
  });

  void test("gbt: a fold whose training rows hold one class is a StageError naming the fold", async () => {
    // One signal row: with k = 2 one fold trains on background only.
    const label = new Float64Array(40);
    label[5] = 1;
    const x = Float64Array.from({ length: 40 }, (_, i) => i);
    await assert.rejects(
      runStage(kfoldStage, {
        params: { features: ["x0"], k: 2, model: { kind: "gbt", num_trees: 3 } },
        inputs: { table: tableValue(tableOf({ x0: x, label })) },
      }),
      (e: unknown) => e instanceof StageError && e.code === "QV_ONE_CLASS" && /fold/.test(e.message),
    );
  });

  void test("an error raised inside a worker arrives as a StageError", async () => {
    const t = events(60, 8);
    const col = (name: string) => (t.columns.get(name) as { values: Float64Array }).values;
    // Negative weights summing below zero: sum_of_weights normalisation refuses them while training.
    const bad = tableOf({
      x0: col("x0"),
      x1: col("x1"),
      label: col("label"),
      w: new Float64Array(60).fill(-1),
    });
    await assert.rejects(
      runStage(kfoldStage, {
        params: {
          ...nnParams,
          trainer: "tfjs",
          k: 2,
          weight: "w",
          model: { ...nnParams.model, loss_normalization: "sum_of_weights" },
        },
        inputs: { table: tableValue(bad) },
        jobs: 2,
      }),
      (e: unknown) => e instanceof StageError && e.code === "QV_NN_WEIGHT",
    );
  });

  void test("gbt folds", async () => {
    const r = await runStage(kfoldStage, {
      params: { features: ["x0", "x1"], k: 4, model: { kind: "gbt", num_trees: 10, max_depth: 2 } },
      inputs: { table: tableValue(events(400, 4)) },
    });
    const m = metricsOf(r);
    assert.equal((m.folds as unknown[]).length, 4);
    assert.ok((m.val_auc as { mean: number }).mean > 0.7);
  });

  void test("more folds than rows is an error at the k param", async () => {
    await assert.rejects(
      runStage(kfoldStage, { params: { ...nnParams, k: 9 }, inputs: { table: tableValue(events(5, 1)) } }),
      (e: unknown) => e instanceof Error && "code" in e && e.code === "QV_FOLDS",
    );
  });
});
