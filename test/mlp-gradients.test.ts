/**
 * Gradient checks of the WebAssembly trainer: its analytic gradients (float32) against central
 * finite differences of an independent float64 implementation of the same network and loss.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../stages/lib/random.js";
import { deriveSeed } from "../core/seed.js";
import { createMlpTrainer, type MlpSpec, type MlpTrainer } from "../stages/lib/mlp/index.js";

type Layer = MlpSpec["layers"][number];

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The trainer's dropout mask, recomputed independently from its documented hash. */
function keep(seed: number, step: number, layer: number, row: number, col: number, rate: number): boolean {
  const key = mix32((mix32((seed ^ mix32(step)) >>> 0) ^ Math.imul(layer, 0x9e3779b9)) >>> 0);
  const rowKey = mix32((key ^ mix32(row)) >>> 0);
  const u = (mix32((rowKey + Math.imul(col, 0x85ebca6b)) >>> 0) >>> 8) / 16777216;
  return u >= Math.fround(rate);
}

interface Problem {
  spec: MlpSpec;
  x: Float64Array;
  y: Float64Array;
  w: Float64Array | undefined;
  rows: number;
}

/** Float64 loss of the whole batch for weights in Keras order (the function differentiated numerically). */
function referenceLoss(p: Problem, weights: Float64Array[], step: number): number {
  const { spec, rows } = p;
  let width = spec.inputDim;
  let a: Float64Array[] = [];
  for (let r = 0; r < rows; r++) a.push(p.x.slice(r * width, (r + 1) * width));
  let k = 0;
  let penalty = 0;
  const dropoutSeed = deriveSeed(spec.seed ?? 0, "dropout");
  spec.layers.forEach((layer: Layer, li) => {
    const isLast = li === spec.layers.length - 1;
    if (layer.kind === "dense") {
      const W = weights[k++]!;
      const b = weights[k++]!;
      for (const v of W) penalty += (spec.l2 ?? 0) * v * v;
      a = a.map((row) => {
        const out = new Float64Array(layer.units);
        for (let j = 0; j < layer.units; j++) {
          let z = b[j]!;
          for (let i = 0; i < width; i++) z += row[i]! * W[i * layer.units + j]!;
          out[j] = isLast
            ? z
            : layer.activation === "relu"
              ? Math.max(z, 0)
              : layer.activation === "sigmoid"
                ? 1 / (1 + Math.exp(-z))
                : layer.activation === "tanh"
                  ? Math.tanh(z)
                  : z;
        }
        return out;
      });
      width = layer.units;
    } else if (layer.kind === "dropout") {
      const scale = 1 / (1 - Math.fround(layer.rate));
      a = a.map((row, r) =>
        row.map((v, j) => (keep(dropoutSeed, step, li, r, j, layer.rate) ? v * scale : 0)),
      );
    } else {
      const gamma = weights[k++]!;
      const beta = weights[k++]!;
      k += 2;
      const eps = layer.epsilon ?? 1e-3;
      for (let j = 0; j < width; j++) {
        let m = 0;
        for (const row of a) m += row[j]! / rows;
        let v = 0;
        for (const row of a) v += (row[j]! - m) ** 2 / rows;
        for (const row of a) row[j] = (gamma[j]! * (row[j]! - m)) / Math.sqrt(v + eps) + beta[j]!;
      }
    }
  });
  const outputs = width;
  let total = 0;
  let wsum = 0;
  a.forEach((z, r) => {
    let l = 0;
    for (let j = 0; j < outputs; j++) {
      const zz = z[j]!;
      const yy = p.y[r * outputs + j]!;
      l += Math.max(zz, 0) - zz * yy + Math.log1p(Math.exp(-Math.abs(zz)));
    }
    const wt = p.w ? p.w[r]! : 1;
    total += (wt * l) / outputs;
    wsum += wt;
  });
  return total / (spec.lossNormalization === "weights" ? wsum : rows) + penalty;
}

function makeProblem(spec: MlpSpec, rows: number, weighted: boolean, seed: number): Problem {
  const rng = new Rng(seed);
  const outputs = (spec.layers[spec.layers.length - 1] as { units: number }).units;
  const x = new Float64Array(rows * spec.inputDim).map(() => Math.fround(rng.normal()));
  const y = new Float64Array(rows * outputs).map(() => (rng.uniform() < 0.4 ? 1 : 0));
  const w = weighted ? new Float64Array(rows).map(() => Math.fround(0.2 + 2 * rng.uniform())) : undefined;
  return { spec, x, y, w, rows };
}

function check(t: MlpTrainer, p: Problem): void {
  const data = t.loadData(p.x, p.y, p.w);
  // Random (not glorot) weights with non-trivial biases and batchnorm parameters.
  const rng = new Rng(99);
  const weights = t
    .getWeights()
    .map((a) => new Float64Array(a.length).map(() => Math.fround(rng.normal() * 0.6)));
  // Keep batchnorm moving variances positive (they do not enter the training loss).
  t.setWeights(weights.map((a) => a.map((v) => v)));
  const step = (t as unknown as { batchCounter: number }).batchCounter;
  const { loss, grads } = t.gradients(data);
  const f64w = t.getWeights().map((a) => Float64Array.from(a));
  const ref = referenceLoss(p, f64w, step);
  assert.ok(Math.abs(loss - ref) <= 2e-6 * Math.max(1, Math.abs(ref)), `loss ${loss} vs float64 ${ref}`);
  // Finite differences on trainable arrays only (batchnorm moving statistics are not trained).
  const trainable: number[] = [];
  let k = 0;
  for (const layer of p.spec.layers) {
    if (layer.kind === "dense") trainable.push(k++, k++);
    else if (layer.kind === "batchnorm") {
      trainable.push(k++, k++);
      k += 2;
    }
  }
  assert.equal(grads.length, trainable.length);
  trainable.forEach((wi, gi) => {
    const g = grads[gi]!;
    const base = f64w[wi]!;
    let scale = 0;
    const fd = new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const h = 1e-6;
      const keepV = base[i]!;
      base[i] = keepV + h;
      const up = referenceLoss(p, f64w, step);
      base[i] = keepV - h;
      const down = referenceLoss(p, f64w, step);
      base[i] = keepV;
      fd[i] = (up - down) / (2 * h);
      scale = Math.max(scale, Math.abs(fd[i]!));
    }
    for (let i = 0; i < base.length; i++) {
      const err = Math.abs(g[i]! - fd[i]!);
      assert.ok(
        err <= 1e-5 * scale + 1e-7,
        `array ${wi} element ${i}: wasm ${g[i]} vs finite difference ${fd[i]} (scale ${scale})`,
      );
    }
  });
  data.release();
}

describe("mlp gradients vs float64 finite differences", () => {
  const trainers: MlpTrainer[] = [];
  after(async () => {
    for (const t of trainers) await t.dispose();
  });
  const cases: { name: string; spec: MlpSpec; rows: number; weighted: boolean }[] = [
    {
      name: "dense relu/tanh/sigmoid, L2, weighted BCE, 3 chunks",
      spec: {
        inputDim: 5,
        layers: [
          { kind: "dense", units: 7, activation: "relu" },
          { kind: "dense", units: 6, activation: "tanh" },
          { kind: "dense", units: 3, activation: "sigmoid" },
          { kind: "dense", units: 1, activation: "sigmoid" },
        ],
        optimizer: { kind: "adam" },
        l2: 0.01,
      },
      rows: 37,
      weighted: true,
    },
    {
      name: "linear, batchnorm, dropout, 2 outputs, normalised by the sum of weights",
      spec: {
        inputDim: 6,
        layers: [
          { kind: "dense", units: 9, activation: "linear" },
          { kind: "batchnorm", momentum: 0.9, epsilon: 1e-3 },
          { kind: "dense", units: 5, activation: "sigmoid" },
          { kind: "dropout", rate: 0.3 },
          { kind: "dense", units: 2, activation: "sigmoid" },
        ],
        optimizer: { kind: "sgd" },
        lossNormalization: "weights",
        seed: 7,
      },
      rows: 21,
      weighted: true,
    },
    {
      name: "dropout after relu, batchnorm after dropout, 2 threads",
      spec: {
        inputDim: 3,
        layers: [
          { kind: "dense", units: 8, activation: "relu" },
          { kind: "dropout", rate: 0.5 },
          { kind: "batchnorm" },
          { kind: "dense", units: 1, activation: "sigmoid" },
        ],
        optimizer: { kind: "adamw" },
        l2: 0.003,
        threads: 2,
      },
      rows: 19,
      weighted: false,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const t = await createMlpTrainer(c.spec);
      trainers.push(t);
      check(t, makeProblem(c.spec, c.rows, c.weighted, 3));
    });
  }
});
