/** The trainer methods the stages added: trainEpochInOrder and predictLogits. */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../stages/lib/random.js";
import { createMlpTrainer, MlpDataError, type MlpSpec, type MlpTrainer } from "../stages/lib/mlp/index.js";

const trainers: MlpTrainer[] = [];
after(async () => {
  for (const t of trainers) await t.dispose();
});

const spec: MlpSpec = {
  inputDim: 4,
  layers: [
    { kind: "dense", units: 9, activation: "relu" },
    { kind: "dropout", rate: 0.2 },
    { kind: "dense", units: 1, activation: "sigmoid" },
  ],
  optimizer: { kind: "adam", lr: 0.01 },
  seed: 3,
};

function data(rows: number) {
  const rng = new Rng(8);
  const x = new Float32Array(rows * 4).map(() => rng.normal());
  const y = new Float32Array(rows).map((_, i) => (x[i * 4]! + x[i * 4 + 1]! > 0 ? 1 : 0));
  return { x, y };
}

async function trainer(): Promise<MlpTrainer> {
  const t = await createMlpTrainer(spec);
  trainers.push(t);
  return t;
}

test("trainEpochInOrder with a seed's permutation equals trainEpoch with that seed", async () => {
  const { x, y } = data(150);
  const a = await trainer();
  const b = await trainer();
  const da = a.loadData(x, y);
  const db = b.loadData(x, y);
  const sa = a.trainEpoch(da, 32, 77);
  const sb = b.trainEpochInOrder(db, 32, new Rng(77).permutation(150));
  assert.deepEqual(sa, sb);
  assert.deepEqual(a.getWeights(), b.getWeights());
});

test("trainEpochInOrder refuses an order that is not a permutation of the rows", async () => {
  const { x, y } = data(10);
  const t = await trainer();
  const d = t.loadData(x, y);
  for (const order of [
    Int32Array.of(0, 1, 2),
    Int32Array.from({ length: 10 }, () => 3),
    Int32Array.from({ length: 10 }, (_, i) => i + 1),
  ])
    assert.throws(() => t.trainEpochInOrder(d, 4, order), MlpDataError);
});

test("predictLogits: the sigmoid of the logits is predict's output; the data set's labels and weights are untouched", async () => {
  const { x, y } = data(200);
  const t = await trainer();
  const w = new Float32Array(200).map((_, i) => 0.5 + (i % 3));
  const d = t.loadData(x, y, w);
  t.trainEpoch(d, 32, 1);
  const before = t.evaluate(d);
  const z = t.predictLogits(d);
  const p = t.predict(x);
  z.forEach((v, i) => assert.ok(Math.abs(1 / (1 + Math.exp(-v)) - p[i]!) < 1e-7, `row ${i}`));
  assert.deepEqual(t.evaluate(d), before);
  assert.deepEqual(t.predictLogits(x), z);
});
