import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { runStage } from "./support/stage-harness.js";
import { StageError, table as tableValue, type ModelArtifact } from "../core/stage.js";
import type { Table } from "../core/table.js";
import { canonicalJson } from "../core/json.js";
import { validate } from "../core/schema.js";
import { trainStage } from "../stages/train.js";
import { predictStage } from "../stages/predict.js";
import {
  historyColumn,
  metricsOf,
  modelOf,
  networkWeights,
  noisyTable,
  repoRoot,
  tableOf,
} from "./fixtures/nn/helpers.js";

interface LogisticCase {
  X: number[][];
  y: number[];
  coef: number[];
  intercept: number;
  log_loss: number;
}

const logisticFile = path.resolve(repoRoot, "..", "shared", "fixtures", "logistic.json");

function logisticCase(): LogisticCase {
  const file = logisticFile;
  const json = JSON.parse(readFileSync(file, "utf8")) as { cases: LogisticCase[] };
  return json.cases[0]!;
}

function caseTable(c: LogisticCase) {
  return tableOf({
    x0: c.X.map((r) => r[0]!),
    x1: c.X.map((r) => r[1]!),
    x2: c.X.map((r) => r[2]!),
    label: c.y,
  });
}

const tiny = {
  x0: [0.5, -1.2, 2.0, 0.1, -0.7, 1.3],
  x1: [1.0, 0.3, -0.4, -2.2, 0.9, 0.05],
  label: [1, 0, 1, 0, 0, 1],
  w: [1, 2, 0.5, -0.3, 1.5, 3],
};

// The numeric checks hold for both trainers: the default (WebAssembly) and tfjs.
for (const trainer of ["auto", "tfjs"] as const) {
  void describe(`train: logistic regression [${trainer}]`, () => {
    void test("zero hidden layers, full batch, no penalty → sklearn LogisticRegression(penalty=None) to 1e-3", async (t) => {
      if (!existsSync(logisticFile)) {
        t.skip("../shared/fixtures/logistic.json is not present next to the repository");
        return;
      }
      const c = logisticCase();
      const r = await runStage(trainStage, {
        params: {
          trainer,
          features: ["x0", "x1", "x2"],
          model: {
            kind: "nn",
            optimizer: { sgd: { lr: 1, momentum: 0.9 } },
            epochs: 300,
            batch_size: 100000,
            shuffle: false,
          },
        },
        inputs: { train: tableValue(caseTable(c)) },
      });
      const m = (r.outputs.model as { model: ModelArtifact }).model;
      const w = networkWeights(m);
      const kernel = w.get("logit/kernel")!.values;
      const bias = w.get("logit/bias")!.values;
      for (let j = 0; j < 3; j++)
        assert.ok(Math.abs(kernel[j]! - c.coef[j]!) < 1e-3, `coef ${j}: ${kernel[j]} vs ${c.coef[j]}`);
      assert.ok(Math.abs(bias[0]! - c.intercept) < 1e-3, `intercept ${bias[0]} vs ${c.intercept}`);
      const metrics = (r.outputs.metrics as { metrics: Record<string, unknown> }).metrics;
      assert.ok(Math.abs((metrics.loss as number) - c.log_loss) < 1e-4, `loss ${String(metrics.loss)}`);
    });
  });

  void describe(`train: weighted logistic regression [${trainer}]`, () => {
    interface WeightedCase {
      l2: number;
      X: number[][];
      y: number[];
      w: number[];
      coef: number[];
      intercept: number;
      objective: number;
    }
    const file = path.resolve(repoRoot, "test", "fixtures", "nn", "weighted_logistic.json");
    const cases = (JSON.parse(readFileSync(file, "utf8")) as { cases: WeightedCase[] }).cases;
    for (const c of cases) {
      void test(`Σwℓ/N + λ‖k‖² (λ=${c.l2}) converges to sklearn LogisticRegression(sample_weight, C=1/(2λN))`, async () => {
        const t = tableOf({
          x0: c.X.map((r) => r[0]!),
          x1: c.X.map((r) => r[1]!),
          x2: c.X.map((r) => r[2]!),
          label: c.y,
          w: c.w,
        });
        const r = await runStage(trainStage, {
          params: {
            trainer,
            features: ["x0", "x1", "x2"],
            weight: "w",
            model: {
              kind: "nn",
              l2: c.l2,
              optimizer: { sgd: { lr: 0.3, momentum: 0.9 } },
              epochs: 400,
              batch_size: 100000,
              shuffle: false,
            },
          },
          inputs: { train: tableValue(t) },
        });
        const w = networkWeights(modelOf(r));
        const kernel = w.get("logit/kernel")!.values;
        for (let j = 0; j < 3; j++)
          assert.ok(Math.abs(kernel[j]! - c.coef[j]!) < 1e-3, `coef ${j}: ${kernel[j]} vs ${c.coef[j]}`);
        assert.ok(Math.abs(w.get("logit/bias")!.values[0]! - c.intercept) < 1e-3);
        assert.ok(Math.abs((metricsOf(r).loss as number) - c.objective) < 1e-5);
      });
    }
  });

  void describe(`train: weighted loss [${trainer}]`, () => {
    const params = (extra: Record<string, unknown>, lr: number) => ({
      trainer,
      features: ["x0", "x1"],
      weight: "w",
      model: { kind: "nn", optimizer: { sgd: { lr } }, epochs: 1, batch_size: 100, shuffle: false, ...extra },
    });
    const hand = (k: Float32Array, b: number, norm: "n" | "sw", l2 = 0) => {
      let s = 0;
      let sw = 0;
      const grad = [0, 0, 0];
      for (let i = 0; i < 6; i++) {
        const z = k[0]! * tiny.x0[i]! + k[1]! * tiny.x1[i]! + b;
        const p = 1 / (1 + Math.exp(-z));
        const y = tiny.label[i]!;
        const w = tiny.w[i]!;
        s += w * -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
        sw += w;
        grad[0]! += w * (p - y) * tiny.x0[i]!;
        grad[1]! += w * (p - y) * tiny.x1[i]!;
        grad[2]! += w * (p - y);
      }
      const div = norm === "n" ? 6 : sw;
      return {
        loss: s / div + l2 * (k[0]! ** 2 + k[1]! ** 2),
        grad: [grad[0]! / div + 2 * l2 * k[0]!, grad[1]! / div + 2 * l2 * k[1]!, grad[2]! / div],
      };
    };

    for (const [norm, extra, l2] of [
      ["n", {}, 0],
      ["sw", { loss_normalization: "sum_of_weights" }, 0],
      ["n", { l2: 0.05 }, 0.05],
    ] as const) {
      void test(`loss and one gradient step equal a hand computation (${JSON.stringify(extra)})`, async () => {
        const t = tableValue(tableOf(tiny));
        // A vanishing learning rate leaves the seeded initial weights in place: read them back.
        const still = await runStage(trainStage, {
          params: params({ ...extra, l2 }, 1e-12),
          inputs: { train: t },
          seed: 7,
        });
        const w0 = networkWeights(modelOf(still));
        const k0 = w0.get("logit/kernel")!.values;
        const b0 = w0.get("logit/bias")!.values[0]!;
        const ref = hand(k0, b0, norm, l2);
        const loss = historyColumn(still, "loss")[0]!;
        assert.ok(
          Math.abs(loss - ref.loss) < 1e-6 * Math.max(1, Math.abs(ref.loss)),
          `loss ${loss} vs ${ref.loss}`,
        );

        const lr = 0.1;
        const stepped = await runStage(trainStage, {
          params: params({ ...extra, l2 }, lr),
          inputs: { train: t },
          seed: 7,
        });
        const w1 = networkWeights(modelOf(stepped));
        const k1 = w1.get("logit/kernel")!.values;
        const b1 = w1.get("logit/bias")!.values[0]!;
        const got = [k1[0]! - k0[0]!, k1[1]! - k0[1]!, b1 - b0];
        got.forEach((g, j) =>
          assert.ok(Math.abs(g - -lr * ref.grad[j]!) < 1e-6, `step ${j}: ${g} vs ${-lr * ref.grad[j]!}`),
        );
      });
    }

    void test("AdamW: one step decays every weight by (1 - lr·wd), then takes Adam's first step at the undecayed gradient", async () => {
      const t = tableValue(tableOf(tiny));
      const still = await runStage(trainStage, { params: params({}, 1e-12), inputs: { train: t }, seed: 7 });
      const w0 = networkWeights(modelOf(still));
      const k0 = w0.get("logit/kernel")!.values;
      const b0 = w0.get("logit/bias")!.values[0]!;
      const ref = hand(k0, b0, "n");
      const [lr, wd, eps] = [0.01, 0.5, 1e-7];
      const r = await runStage(trainStage, {
        params: {
          ...params({}, lr),
          model: {
            kind: "nn",
            optimizer: { adamw: { lr, weight_decay: wd } },
            epochs: 1,
            batch_size: 100,
            shuffle: false,
          },
        },
        inputs: { train: t },
        seed: 7,
      });
      const w1 = networkWeights(modelOf(r));
      const before = [k0[0]!, k0[1]!, b0];
      const after = [
        w1.get("logit/kernel")!.values[0]!,
        w1.get("logit/kernel")!.values[1]!,
        w1.get("logit/bias")!.values[0]!,
      ];
      // Adam's first step: m̂ = g, v̂ = g², so the update is lr·g/(|g| + ε'). tfjs adds ε to √v̂
      // (ε' = ε); the WebAssembly trainer follows Keras, which adds ε to √v before the bias
      // correction √(1 − β2), so ε' = ε/√(1 − β2) (docs/wasm-trainer.md). The two differ by
      // about lr·ε'/|g|, which matters when a gradient is small.
      const epsEff = trainer === "tfjs" ? eps : eps / Math.sqrt(1 - 0.999);
      before.forEach((v, j) => {
        const g = ref.grad[j]!;
        const expected = v * (1 - lr * wd) - (lr * g) / (Math.abs(g) + epsEff);
        assert.ok(Math.abs(after[j]! - expected) < 1e-6, `weight ${j}: ${after[j]} vs ${expected}`);
      });
    });
  });

  void describe(`train: determinism [${trainer}]`, () => {
    const params = {
      trainer,
      features: ["x0", "x1", "x2"],
      model: {
        kind: "nn",
        normalization: true,
        layers: [
          { dense: 16 },
          { dropout: 0.3 },
          { batchnorm: {} },
          { dense: 8, activation: "tanh" },
          { dropout: 0.1 },
        ],
        optimizer: { adamw: { lr: 0.01 } },
        epochs: 3,
        batch_size: 32,
      },
    };
    void test("same seed → identical model bytes; different seed → different model", async () => {
      const t = tableValue(noisyTable(300, 3));
      const a = modelOf(await runStage(trainStage, { params, inputs: { train: t }, seed: 11 }));
      const b = modelOf(await runStage(trainStage, { params, inputs: { train: t }, seed: 11 }));
      const c = modelOf(await runStage(trainStage, { params, inputs: { train: t }, seed: 12 }));
      assert.deepEqual(a.blobs.weights, b.blobs.weights);
      assert.equal(canonicalJson(a.meta), canonicalJson(b.meta));
      assert.notDeepEqual(a.blobs.weights, c.blobs.weights);
    });
  });
}

void describe("train: errors", () => {
  const base = { features: ["x0", "x1"], model: { kind: "nn", epochs: 1 } };
  const code = async (params: Record<string, unknown>, train: Table, validation?: Table) => {
    try {
      await runStage(trainStage, {
        params,
        inputs: { train: tableValue(train), ...(validation ? { validation: tableValue(validation) } : {}) },
      });
    } catch (e) {
      if (e instanceof StageError) return { code: e.code, param: e.param, data: e.data };
      throw e;
    }
    assert.fail("no error");
  };
  void test("unknown feature column names the param and suggests a name", async () => {
    const e = await code({ ...base, features: ["x0", "x_1"] }, tableOf(tiny));
    assert.deepEqual([e.code, e.param], ["QV_UNKNOWN_COLUMN", ["features", 1]]);
  });
  void test("a missing feature value points at its row and column", async () => {
    const t = tableOf({ ...tiny, x1: [1, 2, NaN, 4, 5, 6] });
    const e = await code(base, t);
    assert.deepEqual([e.code, e.data], ["QV_MISSING_VALUE", { row: 2, column: "x1" }]);
  });
  void test("a label that is not 0/1", async () => {
    const e = await code(base, tableOf({ ...tiny, label: [0, 1, 2, 0, 1, 0] }));
    assert.deepEqual([e.code, e.data], ["QV_BAD_LABEL", { row: 2, column: "label" }]);
  });
  void test("early stopping on val_loss without a validation table", async () => {
    const e = await code({ ...base, model: { kind: "nn", early_stopping: {} } }, tableOf(tiny));
    assert.deepEqual([e.code, e.param], ["QV_NN_NO_VALIDATION", ["model", "early_stopping", "monitor"]]);
  });
  void test("the label listed as a feature is refused before running", async () => {
    await assert.rejects(
      runStage(trainStage, {
        params: { ...base, features: ["x0", "label"] },
        inputs: { train: tableValue(tableOf(tiny)) },
      }),
      /QV_LABEL_AS_FEATURE/,
    );
  });
});

void describe("train: backend", () => {
  void test("the backend in the fingerprint is the one that trains, and is reported", async () => {
    const params = validate(trainStage.params.spec, {
      features: ["x0", "x1"],
      trainer: "tfjs",
      model: { kind: "nn" },
    }).value;
    const env = (await trainStage.environment!(params as Parameters<typeof trainStage.run>[0]["params"])) as {
      backend: string;
      trainer: string;
    };
    const r = await runStage(trainStage, {
      params: { features: ["x0", "x1"], trainer: "tfjs", model: { kind: "nn", epochs: 1 } },
      inputs: { train: tableValue(tableOf(tiny)) },
    });
    assert.equal(env.trainer, "tfjs");
    assert.equal(metricsOf(r).backend, env.backend);
    assert.equal(r.summary?.backend, env.backend);
  });
  void test("asking for tfjs-node when it is not installed is an error, not a fallback", async (t) => {
    const { resolveBackend } = await import("../stages/lib/nn/backend.js");
    if (resolveBackend("auto") === "tensorflow") {
      t.skip("@tensorflow/tfjs-node is installed here");
      return;
    }
    const e = await runStage(trainStage, {
      params: {
        features: ["x0", "x1"],
        trainer: "tfjs",
        backend: "tensorflow",
        model: { kind: "nn", epochs: 1 },
      },
      inputs: { train: tableValue(tableOf(tiny)) },
    }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof StageError && e.code === "QV_NN_BACKEND", String(e));
    assert.match(e.message, /not installed/);
    assert.deepEqual(e.param, ["backend"]);
  });
});

void describe("train: gbt kind", () => {
  void test("trains trees through the same stage; predict scores with them", async () => {
    const t = noisyTable(400, 9, { weights: true });
    const r = await runStage(trainStage, {
      params: {
        features: ["x0", "x1", "x2"],
        weight: "w",
        model: { kind: "gbt", num_trees: 20, max_depth: 3 },
      },
      inputs: { train: tableValue(t), validation: tableValue(noisyTable(200, 10)) },
    });
    const m = metricsOf(r);
    assert.equal(m.kind, "gbt");
    assert.equal(m.num_trees, 20);
    assert.ok((m.val_auc as number) > 0.7, `val_auc ${String(m.val_auc)}`);
    const scored = await runStage(predictStage, {
      inputs: { model: r.outputs.model!, table: tableValue(t) },
      inputFrom: { model: "bdt.model", table: "events" },
    });
    const s = (scored.outputs.table as { table: Table }).table.columns.get("bdt");
    assert.ok(s && s.type === "float64" && s.values.every((v) => v > 0 && v < 1));
  });

  void test("uses the jobs as threads on a large table: same model, threads in the run summary", async () => {
    // 400k rows x 3 features: enough codes for the trainer to use a second thread.
    const t = tableValue(noisyTable(400_000, 4, { weights: true }));
    const run = (jobs: number) =>
      runStage(trainStage, {
        params: {
          features: ["x0", "x1", "x2"],
          weight: "w",
          model: { kind: "gbt", num_trees: 4, max_depth: 4 },
        },
        inputs: { train: t },
        jobs,
      });
    const one = await run(1);
    const two = await run(2);
    assert.equal(one.summary?.threads, 1);
    assert.equal(two.summary?.threads, 2);
    const a = modelOf(one);
    const b = modelOf(two);
    assert.equal(canonicalJson(a.meta), canonicalJson(b.meta));
    for (const k of Object.keys(a.blobs)) assert.deepEqual(a.blobs[k], b.blobs[k], k);
    assert.deepEqual(historyColumn(one, "loss"), historyColumn(two, "loss"));
  });
});
