/**
 * The train stage's choice of trainer (WebAssembly SIMD by default, tfjs as the general path),
 * the cross-check between the two at the stage level, what is recorded (fingerprint, metrics,
 * run summary), and byte-determinism of the artifacts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { validate } from "../core/schema.js";
import { canonicalJson, type JsonObject } from "../core/json.js";
import { encodeArtifact } from "../engine/artifacts.js";
import { StageError, table as tableValue, type ArtifactValue, type ModelArtifact } from "../core/stage.js";
import type { Table } from "../core/table.js";
import { trainStage } from "../stages/train.js";
import { predictStage } from "../stages/predict.js";
import { MLP_TRAINER_ID } from "../stages/lib/mlp/index.js";
import { runStage } from "./support/stage-harness.js";
import { historyColumn, metricsOf, modelOf, networkWeights, noisyTable } from "./fixtures/nn/helpers.js";

type TrainParams = Parameters<typeof trainStage.run>[0]["params"];

function validated(params: Record<string, unknown>): TrainParams {
  const { value, issues } = validate(trainStage.params.spec, params);
  assert.deepEqual(issues, []);
  return value as TrainParams;
}

const features = ["x0", "x1", "x2"];

void describe("trainer choice", () => {
  void test("auto picks the WebAssembly trainer for a spec it supports; fingerprint, metrics and summary say so", async () => {
    const params = {
      features,
      model: { kind: "nn", layers: [{ dense: 8 }, { dropout: 0.1 }, { batchnorm: {} }], epochs: 2 },
    };
    const env = await trainStage.environment!(validated(params));
    assert.deepEqual(env, { trainer: MLP_TRAINER_ID });
    const r = await runStage(trainStage, { params, inputs: { train: tableValue(noisyTable(100, 1)) } });
    assert.equal(metricsOf(r).trainer, MLP_TRAINER_ID);
    assert.equal(r.summary?.trainer, MLP_TRAINER_ID);
    assert.equal(typeof r.summary?.training_seconds, "number");
    assert.equal(typeof r.summary?.seconds_per_epoch, "number");
    assert.equal(metricsOf(r).training_seconds, undefined, "wall-clock time is not a metric");
    const history = (r.outputs.history as { table: Table }).table;
    assert.deepEqual([...history.columns.keys()], ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]);
    assert.equal((modelOf(r).meta.nn as JsonObject).trainer, MLP_TRAINER_ID);
  });

  void test("auto falls back to tfjs for activations only tfjs has; forcing wasm is an error at `trainer`", async () => {
    const params = { features, model: { kind: "nn", layers: [{ dense: 4, activation: "elu" }], epochs: 1 } };
    const env = (await trainStage.environment!(validated(params))) as { trainer: string };
    assert.equal(env.trainer, "tfjs");
    const r = await runStage(trainStage, { params, inputs: { train: tableValue(noisyTable(60, 2)) } });
    assert.equal(metricsOf(r).trainer, "tfjs");
    assert.equal(r.summary?.trainer, "tfjs");

    const problems = trainStage.check!(validated({ ...params, trainer: "wasm" }));
    assert.equal(problems.length, 1);
    assert.deepEqual([problems[0]!.code, problems[0]!.path], ["QV_NN_TRAINER", ["trainer"]]);
    assert.match(problems[0]!.message, /elu/);
    // Even past check() (e.g. called directly), run refuses rather than falling back.
    await assert.rejects(
      trainStage.run({
        stageId: "t",
        params: validated({ ...params, trainer: "wasm" }),
        seed: 1,
        jobs: 1,
        signal: new AbortController().signal,
        file: (f) => f,
        files: (f) => [f],
        progress: () => {},
        note: () => {},
        inputFrom: {},
        memo: (_k, compute) => compute(),
        inputs: {
          has: (p) => p === "train",
          table: () => noisyTable(60, 2),
          consume: () => assert.fail(),
          model: () => assert.fail(),
          metrics: () => assert.fail(),
        },
      }),
      (e: unknown) => e instanceof StageError && e.code === "QV_NN_TRAINER" && e.param?.[0] === "trainer",
    );
  });

  void test("trainer: tfjs forces tfjs for a supported spec; the fingerprint differs from wasm's", async () => {
    const params = { features, model: { kind: "nn", epochs: 1 } };
    const wasm = await trainStage.environment!(validated(params));
    const tfjs = (await trainStage.environment!(validated({ ...params, trainer: "tfjs" }))) as {
      trainer: string;
    };
    assert.equal(tfjs.trainer, "tfjs");
    assert.notEqual(canonicalJson(wasm), canonicalJson(tfjs));
  });

  void test("the thread count is not in the fingerprint and does not change the model", async () => {
    const params = {
      features,
      weight: "w",
      // Wide enough for the trainer to use a second thread (it does not for tiny networks).
      model: {
        kind: "nn",
        layers: [{ dense: 256 }, { dropout: 0.2 }, { dense: 128 }],
        epochs: 3,
        batch_size: 256,
      },
    };
    const t = tableValue(noisyTable(700, 3, { weights: true }));
    const one = await runStage(trainStage, { params, inputs: { train: t }, jobs: 1, seed: 5 });
    const two = await runStage(trainStage, { params, inputs: { train: t }, jobs: 2, seed: 5 });
    assert.equal(one.summary?.threads, 1);
    assert.equal(two.summary?.threads, 2);
    assert.deepEqual(modelOf(one).blobs.weights, modelOf(two).blobs.weights);
    assert.deepEqual(historyColumn(one, "loss"), historyColumn(two, "loss"));
    assert.equal(canonicalJson(metricsOf(one) as JsonObject), canonicalJson(metricsOf(two) as JsonObject));
  });
});

/**
 * Same spec, same seed: both trainers start from the same weights and visit the rows in the same
 * shuffled order, so without dropout they follow the same trajectory up to float32 rounding.
 */
void describe("cross-check: the same spec on both trainers", () => {
  const cases: { name: string; model: Record<string, unknown> }[] = [
    {
      name: "SGD momentum, batchnorm, tanh, L2, weights, normalisation, shuffled",
      model: {
        kind: "nn",
        normalization: true,
        layers: [{ dense: 10 }, { batchnorm: { momentum: 0.9 } }, { dense: 6, activation: "tanh" }],
        optimizer: { sgd: { lr: 0.05, momentum: 0.9 } },
        l2: 1e-3,
        epochs: 2,
        batch_size: 40,
      },
    },
    {
      // tfjs adds Adam's epsilon after the bias correction, Keras and the wasm trainer before:
      // a tiny epsilon makes the two forms agree.
      name: "AdamW, relu / sigmoid, sum_of_weights",
      model: {
        kind: "nn",
        layers: [{ dense: 12 }, { dense: 5, activation: "sigmoid" }],
        optimizer: { adamw: { lr: 0.01, epsilon: 1e-12 } },
        loss_normalization: "sum_of_weights",
        epochs: 2,
        batch_size: 50,
      },
    },
  ];
  for (const c of cases) {
    void test(`weights agree to 1e-5 of each layer's scale: ${c.name}`, async () => {
      const train = tableValue(noisyTable(200, 31, { weights: true }));
      const validation = tableValue(noisyTable(100, 32));
      const run = (trainer: string) =>
        runStage(trainStage, {
          params: { features, weight: "w", trainer, model: c.model },
          inputs: { train, validation },
          seed: 9,
        });
      const wasm = await run("wasm");
      const tfjs = await run("tfjs");
      assert.equal(metricsOf(wasm).trainer, MLP_TRAINER_ID);
      assert.equal(metricsOf(tfjs).trainer, "tfjs");
      const a = networkWeights(modelOf(wasm));
      const b = networkWeights(modelOf(tfjs));
      assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
      const layerOf = (name: string) => name.slice(0, name.indexOf("/"));
      const scale = new Map<string, number>();
      for (const [name, w] of b) {
        const s = Math.max(scale.get(layerOf(name)) ?? 1e-3, ...Array.from(w.values, Math.abs));
        scale.set(layerOf(name), s);
      }
      for (const [name, w] of b) {
        const got = a.get(name)!.values;
        assert.deepEqual(a.get(name)!.shape, w.shape, name);
        const tol = 1e-5 * scale.get(layerOf(name))!;
        w.values.forEach((v, j) =>
          assert.ok(Math.abs(got[j]! - v) <= tol, `${name}[${j}]: wasm ${got[j]} vs tfjs ${v}`),
        );
      }
      const lossA = historyColumn(wasm, "val_loss");
      const lossB = historyColumn(tfjs, "val_loss");
      lossB.forEach((v, i) =>
        assert.ok(Math.abs(lossA[i]! - v) < 1e-5, `val_loss ${i}: ${lossA[i]} vs ${v}`),
      );
      // Training moved the weights well beyond the tolerance.
      const k0 = a.get("dense_0/kernel")!.values;
      const still = await runStage(trainStage, {
        params: {
          features,
          weight: "w",
          trainer: "wasm",
          model: { ...c.model, epochs: 1, optimizer: { sgd: { lr: 1e-12 } } },
        },
        inputs: { train },
        seed: 9,
      });
      const init = networkWeights(modelOf(still)).get("dense_0/kernel")!.values;
      assert.ok(Math.max(...k0.map((v, j) => Math.abs(v - init[j]!))) > 1e-2);
    });
  }
});

void describe("artifacts are byte-deterministic", () => {
  const bytes = async (v: ArtifactValue | undefined) =>
    Buffer.from(await encodeArtifact(v!)).toString("base64");
  for (const [name, model, trainer] of [
    ["wasm", { kind: "nn", layers: [{ dense: 8 }, { dropout: 0.3 }], epochs: 3 }, "auto"],
    ["tfjs", { kind: "nn", layers: [{ dense: 8 }, { dropout: 0.3 }], epochs: 3 }, "tfjs"],
    ["gbt", { kind: "gbt", num_trees: 10, max_depth: 3, subsample: 0.7 }, "auto"],
  ] as const) {
    void test(`${name}: two runs with one seed give identical model, history and metrics bytes`, async () => {
      const inputs = { train: tableValue(noisyTable(150, 40)), validation: tableValue(noisyTable(80, 41)) };
      const params = { features, trainer, model };
      const a = await runStage(trainStage, { params, inputs, seed: 3 });
      const b = await runStage(trainStage, { params, inputs, seed: 3 });
      for (const port of ["model", "history", "metrics"])
        assert.equal(await bytes(a.outputs[port]), await bytes(b.outputs[port]), port);
      const c = await runStage(trainStage, { params, inputs, seed: 4 });
      assert.notEqual(await bytes(a.outputs.model), await bytes(c.outputs.model));
    });
  }
});

void describe("predict on the WebAssembly kernels", () => {
  void test("scores are the sigmoid of a float64 forward pass through the stored weights", async () => {
    const train = noisyTable(120, 50);
    const r = await runStage(trainStage, {
      params: {
        features,
        model: {
          kind: "nn",
          normalization: true,
          layers: [{ dense: 7 }, { batchnorm: {} }, { dense: 5, activation: "tanh" }],
          epochs: 3,
          batch_size: 16,
        },
      },
      inputs: { train: tableValue(train) },
    });
    const m = modelOf(r);
    const scored = await runStage(predictStage, {
      params: { column: "s" },
      inputs: { model: r.outputs.model!, table: tableValue(train) },
    });
    assert.equal(scored.summary?.scorer, MLP_TRAINER_ID);
    const s = ((scored.outputs.table as { table: Table }).table.columns.get("s") as { values: Float64Array })
      .values;
    const w = networkWeights(m);
    const norm = (m.meta.nn as { normalization: { mean: number[]; std: number[] } }).normalization;
    const cols = features.map((f) => (train.columns.get(f) as { values: Float64Array }).values);
    const dense = (x: number[], name: string, act: (v: number) => number) => {
      const k = w.get(`${name}/kernel`)!;
      const b = w.get(`${name}/bias`)!.values;
      const [, out] = k.shape as [number, number];
      return Array.from({ length: out }, (_, j) =>
        act(x.reduce((acc, v, i) => acc + v * k.values[i * out + j]!, b[j]!)),
      );
    };
    for (let r0 = 0; r0 < 120; r0 += 7) {
      const x = cols.map((c, j) => (c[r0]! - norm.mean[j]!) / norm.std[j]!);
      let h = dense(x, "dense_0", (v) => Math.max(v, 0));
      const bn = (p: string) => w.get(`batchnorm_1/${p}`)!.values;
      h = h.map(
        (v, j) =>
          ((v - bn("moving_mean")[j]!) / Math.sqrt(bn("moving_variance")[j]! + 0.001)) * bn("gamma")[j]! +
          bn("beta")[j]!,
      );
      h = dense(h, "dense_2", Math.tanh);
      const z = dense(h, "logit", (v) => v)[0]!;
      const p = 1 / (1 + Math.exp(-z));
      assert.ok(Math.abs(s[r0]! - p) < 2e-6, `row ${r0}: ${s[r0]} vs ${p}`);
    }
  });

  void test("scores near 1 keep float64 resolution (not rounded to float32)", async () => {
    const { createMlpTrainer } = await import("../stages/lib/mlp/index.js");
    const t = await createMlpTrainer({
      inputDim: 1,
      layers: [{ kind: "dense", units: 1, activation: "sigmoid" }],
      optimizer: { kind: "sgd" },
    });
    try {
      t.setWeights([Float32Array.of(1), Float32Array.of(0)]);
      const xs = Float32Array.of(-800, -30, -1.5, 0, 0.25, 18, 30, 700);
      const z = t.predictLogits(xs);
      xs.forEach((x, i) => {
        if (x < -745) assert.ok(z[i]! <= -745, `x ${x}: ${z[i]}`);
        else assert.ok(Math.abs(z[i]! - x) <= 1e-12 * Math.max(1, Math.abs(x)), `x ${x}: logit ${z[i]}`);
      });
    } finally {
      await t.dispose();
    }
  });

  void test("a table larger than one scoring block scores each row as alone", async () => {
    const r = await runStage(trainStage, {
      params: { features, model: { kind: "nn", normalization: true, layers: [{ dense: 6 }], epochs: 1 } },
      inputs: { train: tableValue(noisyTable(100, 62)) },
    });
    const big = noisyTable(270_000, 63); // the scorer works in blocks of 262 144 rows
    const score = async (t: Table) => {
      const out = await runStage(predictStage, {
        params: { column: "s" },
        inputs: { model: r.outputs.model!, table: tableValue(t) },
      });
      return ((out.outputs.table as { table: Table }).table.columns.get("s") as { values: Float64Array })
        .values;
    };
    const all = await score(big);
    const rows = Int32Array.of(0, 262_143, 262_144, 269_999);
    const { takeRows } = await import("../core/table.js");
    const some = await score(takeRows(big, rows));
    rows.forEach((row, i) => assert.equal(all[row], some[i], `row ${row}`));
  });

  void test("tfjs-trained models still score with tfjs", async () => {
    const t = tableValue(noisyTable(80, 60));
    const r = await runStage(trainStage, {
      params: { features, trainer: "tfjs", model: { kind: "nn", layers: [{ dense: 4 }], epochs: 2 } },
      inputs: { train: t },
    });
    const scored = await runStage(predictStage, {
      params: { column: "s" },
      inputs: { model: r.outputs.model!, table: t },
    });
    assert.equal(scored.summary?.scorer, "tfjs");
  });

  void test("a damaged wasm network is a model-format error", async () => {
    const r = await runStage(trainStage, {
      params: { features, model: { kind: "nn", layers: [{ dense: 4 }], epochs: 1 } },
      inputs: { train: tableValue(noisyTable(40, 61)) },
    });
    const m = modelOf(r);
    const broken = (meta: JsonObject, blobs: ModelArtifact["blobs"]): ArtifactValue => ({
      kind: "model",
      model: { meta, blobs },
    });
    const nn = m.meta.nn as JsonObject;
    for (const bad of [
      broken(m.meta, { weights: m.blobs.weights!.subarray(4) }),
      broken(
        { ...m.meta, nn: { ...nn, layers: [{ kind: "dense", units: 4, activation: "gelu" }] } },
        m.blobs,
      ),
      broken({ ...m.meta, nn: { ...nn, trainer: "quiver-wasm-mlp/99" } }, m.blobs),
    ])
      await assert.rejects(
        runStage(predictStage, { inputs: { model: bad, table: tableValue(noisyTable(5, 1)) } }),
        (e: unknown) => e instanceof StageError && e.code === "QV_MODEL_FORMAT",
      );
  });
});

void describe("gbt data errors are StageErrors", () => {
  const run = (t: Table, model: Record<string, unknown> = { kind: "gbt", num_trees: 3 }) =>
    runStage(trainStage, { params: { features, weight: "w", model }, inputs: { train: tableValue(t) } });
  const withColumn = (t: Table, name: string, f: (v: Float64Array) => void): Table => {
    const c = t.columns.get(name) as { values: Float64Array };
    const v = Float64Array.from(c.values);
    f(v);
    const cols = new Map(t.columns);
    cols.set(name, { type: "float64", values: v });
    return { numRows: t.numRows, columns: cols };
  };
  void test("a negative weight names its row and column", async () => {
    const t = withColumn(noisyTable(50, 70, { weights: true }), "w", (v) => (v[17] = -0.5));
    await assert.rejects(run(t), (e: unknown) => {
      assert.ok(e instanceof StageError, String(e));
      assert.deepEqual([e.code, e.data], ["QV_GBT_WEIGHT", { row: 17, column: "w" }]);
      return true;
    });
  });
  void test("one class only", async () => {
    const t = withColumn(noisyTable(50, 71, { weights: true }), "label", (v) => v.fill(1));
    await assert.rejects(run(t), (e: unknown) => e instanceof StageError && e.code === "QV_ONE_CLASS");
  });
  void test("depths and tree counts beyond the library's limits are refused before running", () => {
    const problems = trainStage.check!(
      validated({ features, model: { kind: "gbt", max_depth: 20, num_trees: 200000 } }),
    );
    assert.deepEqual(
      problems.map((p) => [p.code, p.path.join(".")]),
      [
        ["QV_GBT_OPTION", "model.max_depth"],
        ["QV_GBT_OPTION", "model.num_trees"],
      ],
    );
  });
});

void describe("threads", () => {
  void test("a second thread only for batches with enough arithmetic, never more than the chunks", async () => {
    const { usefulThreads } = await import("../stages/lib/nn/wasm-train.js");
    const spec = (layers: Record<string, unknown>[], batch_size: number) =>
      validated({ features, model: { kind: "nn", layers, batch_size } }).model as { kind: "nn" } & Parameters<
        typeof usefulThreads
      >[0];
    // The 4-top network: 24→20→20→1, batch 200: about 1 MFLOP per batch.
    assert.equal(usefulThreads(spec([{ dense: 20 }, { dropout: 0.2 }, { dense: 20 }], 200), 24, 3000, 2), 1);
    assert.equal(usefulThreads(spec([{ dense: 256 }, { dense: 128 }], 256), 3, 700, 2), 2);
    assert.equal(usefulThreads(spec([{ dense: 256 }, { dense: 128 }], 256), 3, 700, 1), 1);
    // Batchnorm needs the whole batch in one chunk: one thread.
    assert.equal(usefulThreads(spec([{ dense: 256 }, { batchnorm: {} }, { dense: 128 }], 256), 3, 700, 8), 1);
    // No more threads than chunks (at least 32 rows each).
    assert.equal(usefulThreads(spec([{ dense: 512 }, { dense: 512 }], 64), 3, 700, 8), 2);
  });
});
