/**
 * Training behaviour of the WebAssembly trainer: optimizer steps against PyTorch float64
 * references (test/fixtures/gen/mlp_optim.py), bit-identity across thread counts and repeats,
 * early stopping with best-weight restore, inference and input errors.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../stages/lib/random.js";
import {
  createMlpTrainer,
  MlpDataError,
  MlpSpecError,
  type MlpSpec,
  type MlpTrainer,
  type MlpOptimizer,
} from "../stages/lib/mlp/index.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

interface OptimFixture {
  x: number[];
  y: number[];
  w: number[];
  l2: number;
  epochs: number;
  batchSize: number;
  layers: { units: number; activation: "tanh" | "relu" | "sigmoid" }[];
  init: number[][];
  runs: { optimizer: MlpOptimizer; epochLosses: number[]; weights: number[][] }[];
}
const fixture = JSON.parse(
  fs.readFileSync(path.join(repoRoot, "test", "fixtures", "mlp", "optim.json"), "utf8"),
) as OptimFixture;

const trainers: MlpTrainer[] = [];
async function make(spec: MlpSpec): Promise<MlpTrainer> {
  const t = await createMlpTrainer(spec);
  trainers.push(t);
  return t;
}
after(async () => {
  for (const t of trainers) await t.dispose();
});

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rel: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    assert.ok(err <= rel * Math.max(scale, 1e-3), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe("optimizers against PyTorch float64", () => {
  for (const run of fixture.runs) {
    const nesterov = run.optimizer.kind === "sgd" && run.optimizer.nesterov === true;
    test(`${run.optimizer.kind}${nesterov ? " (nesterov)" : ""}: ${fixture.epochs} epochs of batch ${fixture.batchSize}`, async () => {
      const t = await make({
        inputDim: 4,
        layers: fixture.layers.map((l) => ({ kind: "dense" as const, ...l })),
        optimizer: run.optimizer,
        l2: fixture.l2,
      });
      t.setWeights(fixture.init);
      const data = t.loadData(fixture.x, fixture.y, fixture.w);
      const losses: number[] = [];
      for (let e = 0; e < fixture.epochs; e++)
        losses.push(t.trainEpoch(data, fixture.batchSize, undefined).loss);
      assertClose(losses, run.epochLosses, 2e-6, "epoch loss");
      t.getWeights().forEach((got, i) => assertClose(got, run.weights[i]!, 2e-5, `weights ${i}`));
      data.release();
    });
  }
});

function syntheticData(
  rows: number,
  d: number,
  seed: number,
): { x: Float32Array; y: Float32Array; w: Float32Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(rows * d);
  const y = new Float32Array(rows);
  const w = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let z = 0;
    for (let j = 0; j < d; j++) {
      const v = rng.normal();
      x[r * d + j] = v;
      z += v * Math.cos(j) + 0.3 * v * v;
    }
    y[r] = z + 0.5 * rng.normal() > 0.8 ? 1 : 0;
    w[r] = 0.5 + rng.uniform();
  }
  return { x, y, w };
}

const netWithEverything: MlpSpec = {
  inputDim: 7,
  layers: [
    { kind: "dense", units: 13, activation: "relu" },
    { kind: "dropout", rate: 0.2 },
    { kind: "dense", units: 10, activation: "tanh" },
    { kind: "dense", units: 1, activation: "sigmoid" },
  ],
  optimizer: { kind: "adamw", lr: 0.01 },
  l2: 1e-3,
  seed: 5,
};

async function trainBytes(
  spec: MlpSpec,
  threads: number,
): Promise<{ weights: Uint8Array; losses: number[] }> {
  const t = await make({ ...spec, threads });
  const { x, y, w } = syntheticData(700, spec.inputDim, 11);
  const data = t.loadData(x, y, w);
  const losses: number[] = [];
  // Batch sizes with 1, several and a ragged last chunk.
  for (const [e, batch] of [30, 100, 200, 256].entries()) losses.push(t.trainEpoch(data, batch, e).loss);
  const flat = t.getWeights();
  const bytes = new Uint8Array(flat.reduce((n, a) => n + a.byteLength, 0));
  let o = 0;
  for (const a of flat) {
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), o);
    o += a.byteLength;
  }
  data.release();
  return { weights: bytes, losses };
}

describe("determinism", () => {
  test("1, 2 and 3 threads give the same bytes; repeats too", async () => {
    const one = await trainBytes(netWithEverything, 1);
    const two = await trainBytes(netWithEverything, 2);
    const three = await trainBytes(netWithEverything, 3);
    const again = await trainBytes(netWithEverything, 2);
    assert.deepEqual(two.weights, one.weights);
    assert.deepEqual(three.weights, one.weights);
    assert.deepEqual(again.weights, one.weights);
    assert.deepEqual(two.losses, one.losses);
    assert.ok(one.losses[3]! < one.losses[0]!, `training lowers the loss: ${one.losses.join(", ")}`);
  });

  test("a different seed gives different dropout masks", async () => {
    const a = await trainBytes(netWithEverything, 1);
    const b = await trainBytes({ ...netWithEverything, seed: 6 }, 1);
    assert.notDeepEqual(a.weights, b.weights);
  });

  test("batchnorm networks: same bytes for 1 and 2 threads", async () => {
    const spec: MlpSpec = {
      inputDim: 7,
      layers: [
        { kind: "dense", units: 9, activation: "relu" },
        { kind: "batchnorm" },
        { kind: "dense", units: 1, activation: "sigmoid" },
      ],
      optimizer: { kind: "sgd", lr: 0.05, momentum: 0.9 },
    };
    const one = await trainBytes(spec, 1);
    const two = await trainBytes(spec, 2);
    assert.deepEqual(two.weights, one.weights);
  });
});

describe("fit, evaluate, predict", () => {
  test("early stopping restores the best epoch's weights", async () => {
    const spec: MlpSpec = { ...netWithEverything, optimizer: { kind: "adam", lr: 0.05 } };
    const { x, y, w } = syntheticData(400, 7, 3);
    const val = syntheticData(60, 7, 4);
    const t = await make(spec);
    const data = t.loadData(x, y, w);
    const vdata = t.loadData(val.x, val.y, val.w);
    const h = t.fit(data, {
      epochs: 60,
      batchSize: 32,
      shuffleSeed: 9,
      validation: vdata,
      earlyStopping: { patience: 3 },
    });
    assert.ok(
      h.stoppedEarly,
      `a small noisy validation set overfits within 60 epochs: ${h.valLoss.join(", ")}`,
    );
    assert.equal(h.valLoss.length, h.bestEpoch + 4);
    const best = Math.min(...h.valLoss);
    assert.equal(h.valLoss[h.bestEpoch], best);
    assert.equal(t.evaluate(vdata).loss, best);
    // The same training stopped by hand after the best epoch holds the same bytes.
    const u = await make(spec);
    const d2 = u.loadData(x, y, w);
    const v2 = u.loadData(val.x, val.y, val.w);
    u.fit(d2, { epochs: h.bestEpoch + 1, batchSize: 32, shuffleSeed: 9, validation: v2 });
    assert.deepEqual(u.getWeights(), t.getWeights());
  });

  test("training accuracy is counted on the training steps; early stopping on accuracy", async () => {
    const spec: MlpSpec = {
      inputDim: 7,
      layers: [
        { kind: "dense", units: 6, activation: "tanh" },
        { kind: "dense", units: 1, activation: "sigmoid" },
      ],
      optimizer: { kind: "sgd", lr: 1e-30 },
      threads: 2,
    };
    const { x, y, w } = syntheticData(300, 7, 5);
    const t = await make(spec);
    const data = t.loadData(x, y, w);
    const before = t.evaluate(data);
    const epoch = t.trainEpoch(data, 64, 1);
    assert.equal(epoch.accuracy, before.accuracy);
    assert.ok(Math.abs(epoch.loss - before.loss) < 1e-6, `${epoch.loss} vs ${before.loss}`);
    // The weights cannot move at this learning rate, so accuracy never improves after epoch 0.
    const h = t.fit(data, {
      epochs: 10,
      batchSize: 64,
      shuffleSeed: 1,
      earlyStopping: { patience: 2, monitor: "accuracy" },
    });
    assert.equal(h.bestEpoch, 0);
    assert.equal(h.loss.length, 3);
    assert.ok(h.stoppedEarly);
    assert.throws(
      () =>
        t.fit(data, {
          epochs: 1,
          batchSize: 8,
          shuffleSeed: 1,
          earlyStopping: { patience: 1, monitor: "val_loss" },
        }),
      /no validation data/,
    );
  });

  test("predict and evaluate agree with a float64 forward pass (dropout off, batchnorm running stats)", async () => {
    const spec: MlpSpec = {
      inputDim: 3,
      layers: [
        { kind: "dense", units: 5, activation: "tanh" },
        { kind: "dropout", rate: 0.5 },
        { kind: "batchnorm", epsilon: 0.01 },
        { kind: "dense", units: 1, activation: "sigmoid" },
      ],
      optimizer: { kind: "adam" },
      threads: 2,
    };
    const t = await make(spec);
    const rng = new Rng(1);
    const weights = t.getWeights().map((a) => a.map(() => 0.3 + rng.uniform()));
    t.setWeights(weights);
    const { x, y, w } = syntheticData(1500, 3, 8);
    const p = t.predict(x);
    const [k1, b1, g, be, mm, mv, k2, b2] = weights as [Float32Array, ...Float32Array[]];
    let loss = 0;
    let correct = 0;
    for (let r = 0; r < 1500; r++) {
      const h = Array.from({ length: 5 }, (_, j) => {
        let z = b1![j]!;
        for (let i = 0; i < 3; i++) z += x[r * 3 + i]! * k1[i * 5 + j]!;
        const a = Math.tanh(z);
        return ((a - mm![j]!) / Math.sqrt(mv![j]! + 0.01)) * g![j]! + be![j]!;
      });
      let z = b2![0]!;
      for (let j = 0; j < 5; j++) z += h[j]! * k2![j]!;
      const prob = 1 / (1 + Math.exp(-z));
      assert.ok(Math.abs(p[r]! - prob) < 2e-6, `row ${r}: ${p[r]} vs ${prob}`);
      loss += w[r]! * (Math.max(z, 0) - z * y[r]! + Math.log1p(Math.exp(-Math.abs(z))));
      if (prob >= 0.5 === y[r]! >= 0.5) correct++;
    }
    const data = t.loadData(x, y, w);
    const ev = t.evaluate(data);
    assert.ok(Math.abs(ev.loss - loss / 1500) < 1e-6, `${ev.loss} vs ${loss / 1500}`);
    assert.equal(ev.accuracy, correct / 1500);
    assert.deepEqual(t.predict(data), p);
  });
});

describe("errors", () => {
  test("specs the trainer cannot express", async () => {
    const base: MlpSpec = {
      inputDim: 2,
      layers: [{ kind: "dense", units: 1, activation: "sigmoid" }],
      optimizer: { kind: "adam" },
    };
    await assert.rejects(
      createMlpTrainer({ ...base, layers: [{ kind: "dense", units: 1, activation: "relu" }] }),
      MlpSpecError,
    );
    await assert.rejects(
      createMlpTrainer({
        ...base,
        layers: [{ kind: "dropout", rate: 1 }, ...base.layers],
      }),
      /rate must be below 1/,
    );
    await assert.rejects(createMlpTrainer({ ...base, inputDim: 0 }), /inputDim/);
  });

  test("bad data", async () => {
    const t = await make({
      inputDim: 2,
      layers: [{ kind: "dense", units: 1, activation: "sigmoid" }],
      optimizer: { kind: "adam" },
    });
    assert.throws(() => t.loadData([1, 2, 3], [0]), MlpDataError);
    assert.throws(() => t.loadData([1, NaN], [0]), /row 0, feature 1/);
    assert.throws(() => t.loadData([1, 2], [2]), /labels in \[0, 1\]/);
    const d = t.loadData([1, 2], [1]);
    d.release();
    assert.throws(() => t.trainEpoch(d, 1, 0), /released/);
  });
});
