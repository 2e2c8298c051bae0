/**
 * Cross-check of the WebAssembly trainer against tfjs-layers (CPU backend): the same network, the
 * same initial weights and data, a few optimizer steps on each; weights must agree to ~1e-5.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../stages/lib/random.js";
import { createMlpTrainer, type MlpSpec, type MlpTrainer } from "../stages/lib/mlp/index.js";

type Tf = typeof import("@tensorflow/tfjs");

const trainers: MlpTrainer[] = [];
after(async () => {
  for (const t of trainers) await t.dispose();
});

async function loadTf(): Promise<Tf> {
  const tf = await import("@tensorflow/tfjs");
  await tf.setBackend("cpu");
  return tf;
}

/** Trains `spec` for `steps` row-order batches with tfjs and returns its weights (Keras order). */
function trainTfjs(
  tf: Tf,
  spec: MlpSpec,
  init: Float32Array[],
  shapes: number[][],
  x: Float32Array,
  y: Float32Array,
  w: Float32Array,
  batch: number,
): Float32Array[] {
  const model = tf.sequential();
  spec.layers.forEach((l, i) => {
    const first = i === 0 ? { inputShape: [spec.inputDim] } : {};
    if (l.kind === "dense")
      model.add(tf.layers.dense({ ...first, units: l.units, activation: l.activation }));
    else if (l.kind === "batchnorm") {
      model.add(
        tf.layers.batchNormalization({ ...first, momentum: l.momentum ?? 0.99, epsilon: l.epsilon ?? 1e-3 }),
      );
    } else throw new Error("dropout masks differ between trainers: not cross-checked");
  });
  // Per layer: a tfjs model lists all trainable weights before the non-trainable ones.
  let k = 0;
  for (const layer of model.layers) {
    const n = layer.getWeights().length;
    layer.setWeights(init.slice(k, k + n).map((a, i) => tf.tensor(a, shapes[k + i])));
    k += n;
  }
  const o = spec.optimizer;
  const opt =
    o.kind === "sgd"
      ? tf.train.momentum(o.lr ?? 0.01, o.momentum ?? 0)
      : tf.train.adam(o.lr ?? 0.001, o.beta1 ?? 0.9, o.beta2 ?? 0.999, o.epsilon ?? 1e-7);
  const rows = y.length;
  const kernels = model.trainableWeights.filter((v) => v.shape.length === 2).map((v) => v.read());
  for (let s = 0; s < rows; s += batch) {
    const n = Math.min(batch, rows - s);
    const xb = tf.tensor2d(x.subarray(s * spec.inputDim, (s + n) * spec.inputDim), [n, spec.inputDim]);
    const yb = tf.tensor2d(y.subarray(s, s + n), [n, 1]);
    const wb = tf.tensor2d(w.subarray(s, s + n), [n, 1]);
    opt.minimize(() => {
      const p = tf.clipByValue(
        model.apply(xb, { training: true }) as import("@tensorflow/tfjs").Tensor,
        1e-7,
        1 - 1e-7,
      );
      const bce = tf.neg(tf.add(tf.mul(yb, tf.log(p)), tf.mul(tf.sub(1, yb), tf.log(tf.sub(1, p)))));
      let loss = tf.mean(tf.mul(wb, bce));
      for (const k of kernels) loss = tf.add(loss, tf.mul(spec.l2 ?? 0, tf.sum(tf.square(k))));
      return loss as import("@tensorflow/tfjs").Scalar;
    });
    tf.dispose([xb, yb, wb]);
  }
  const out = model.layers.flatMap((layer) => layer.getWeights().map((t) => t.dataSync() as Float32Array));
  model.dispose();
  opt.dispose();
  return out;
}

const cases: { name: string; spec: MlpSpec }[] = [
  {
    // SGD here: with Adam, a bias feeding batchnorm has a near-zero gradient that Adam rescales to
    // full steps, so float rounding noise, not the trainers, would decide its update.
    name: "sgd with momentum, relu / batchnorm / tanh, L2",
    spec: {
      inputDim: 5,
      layers: [
        { kind: "dense", units: 8, activation: "relu" },
        { kind: "batchnorm", momentum: 0.9 },
        { kind: "dense", units: 6, activation: "tanh" },
        { kind: "dense", units: 1, activation: "sigmoid" },
      ],
      optimizer: { kind: "sgd", lr: 0.1, momentum: 0.9 },
      l2: 1e-3,
    },
  },
  {
    name: "adam, sigmoid / linear hidden layers, L2, 2 threads",
    spec: {
      inputDim: 6,
      layers: [
        { kind: "dense", units: 9, activation: "sigmoid" },
        { kind: "dense", units: 7, activation: "linear" },
        { kind: "dense", units: 1, activation: "sigmoid" },
      ],
      // tfjs adds epsilon after the bias correction, Keras (and this trainer) before it: the two
      // agree when epsilon is far below every |gradient|.
      optimizer: { kind: "adam", lr: 0.01, epsilon: 1e-12 },
      l2: 1e-3,
      threads: 2,
    },
  },
];

for (const c of cases) {
  test(`same weights as tfjs after a few steps: ${c.name}`, async () => {
    const tf = await loadTf();
    const t = await createMlpTrainer(c.spec);
    trainers.push(t);
    const rng = new Rng(21);
    const rows = 96;
    const x = new Float32Array(rows * c.spec.inputDim).map(() => rng.normal());
    const y = new Float32Array(rows).map(() => (rng.uniform() < 0.5 ? 1 : 0));
    const w = new Float32Array(rows).map(() => 0.5 + rng.uniform());
    const init = t.getWeights();
    const expected = trainTfjs(tf, c.spec, init, t.weightShapes(), x, y, w, 32);
    const data = t.loadData(x, y, w);
    t.trainEpoch(data, 32, undefined);
    const got = t.getWeights();
    assert.equal(got.length, expected.length);
    // Tolerance relative to each layer's weight scale (a bias starting at zero has no scale of its own).
    const layerOf: number[] = [];
    c.spec.layers.forEach((l, li) => {
      if (l.kind === "dense") layerOf.push(li, li);
      else if (l.kind === "batchnorm") layerOf.push(li, li, li, li);
    });
    const scaleOf = (li: number): number =>
      Math.max(1e-3, ...expected.flatMap((e, i) => (layerOf[i] === li ? Array.from(e, Math.abs) : [])));
    got.forEach((g, i) => {
      const e = expected[i]!;
      const scale = scaleOf(layerOf[i]!);
      for (let j = 0; j < e.length; j++) {
        assert.ok(Math.abs(g[j]! - e[j]!) <= 1e-5 * scale, `array ${i}[${j}]: wasm ${g[j]} vs tfjs ${e[j]}`);
      }
    });
    const moved = Math.max(...expected[0]!.map((v, j) => Math.abs(v - init[0]![j]!)));
    assert.ok(moved > 1e-3, "training moved the weights");
  });
}
