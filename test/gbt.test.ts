import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { canonicalJson } from "../core/json.js";
import type { ModelArtifact } from "../core/stage.js";
import { decodeModel, predictGbt, trainGbt, weightedAuc } from "../stages/lib/gbt/index.js";
import type { GbtOptions, GbtTrainData } from "../stages/lib/gbt/index.js";
import { Rng } from "../stages/lib/random.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

interface Reference {
  maxDepth: number;
  weighted: boolean;
  sklearnMaxDepth: number;
  auc: number;
}
interface SyntheticFixture {
  featureNames: string[];
  features: (number | null)[][];
  labels: number[];
  weights: number[];
  testRows: number[];
  reference: Reference[];
}

const fixture = JSON.parse(
  fs.readFileSync(path.join(repoRoot, "test", "fixtures", "gbt", "synthetic.json"), "utf8"),
) as SyntheticFixture;

const NOTEBOOK: GbtOptions = {
  numTrees: 150,
  maxDepth: 2,
  minExamples: 6,
  subsample: 0.65,
  shrinkage: 0.2,
  maxBins: 255,
  l2: 0,
};

interface Part {
  features: Float64Array[];
  labels: Uint8Array;
  weights: Float64Array;
}

function splitFixture(): { train: Part; test: Part } {
  const n = fixture.labels.length;
  const isTest = new Uint8Array(n);
  for (const r of fixture.testRows) isTest[r] = 1;
  const part = (want: number): Part => {
    const idx: number[] = [];
    for (let r = 0; r < n; r++) if (isTest[r] === want) idx.push(r);
    return {
      features: fixture.features.map((col) => Float64Array.from(idx, (r) => col[r] ?? NaN)),
      labels: Uint8Array.from(idx, (r) => fixture.labels[r]!),
      weights: Float64Array.from(idx, (r) => fixture.weights[r]!),
    };
  };
  return { train: part(0), test: part(1) };
}

const { train, test: held } = splitFixture();
const trainData = (weighted = true): GbtTrainData => ({
  features: train.features,
  featureNames: fixture.featureNames,
  labels: train.labels,
  weights: weighted ? train.weights : undefined,
});

/** Weighted mean log-loss of probabilities. */
function logLoss(p: Float64Array, labels: Uint8Array, weights?: Float64Array): number {
  let sum = 0;
  let wsum = 0;
  for (let i = 0; i < p.length; i++) {
    const w = weights ? weights[i]! : 1;
    const q = labels[i] === 1 ? p[i]! : 1 - p[i]!;
    sum -= w * Math.log(q);
    wsum += w;
  }
  return sum / wsum;
}

/** Index (within its tree) of the leaf each row reaches in tree t. */
function leafOf(model: ModelArtifact, t: number, features: readonly Float64Array[]): Int32Array {
  const { forest } = decodeModel(model);
  const s = forest.treeStart[t]!;
  const n = features[0]!.length;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let k = 0;
    while (forest.feature[s + k]! >= 0) {
      const x = features[forest.feature[s + k]!]![r]!;
      const goLeft = Number.isNaN(x) ? forest.missingLeft[s + k] === 1 : x <= forest.threshold[s + k]!;
      k = goLeft ? forest.left[s + k]! : forest.right[s + k]!;
    }
    out[r] = k;
  }
  return out;
}

function sameBytes(a: ModelArtifact, b: ModelArtifact): boolean {
  if (canonicalJson(a.meta) !== canonicalJson(b.meta)) return false;
  const keys = Object.keys(a.blobs).sort();
  if (canonicalJson(keys) !== canonicalJson(Object.keys(b.blobs).sort())) return false;
  return keys.every((k) => Buffer.compare(Buffer.from(a.blobs[k]!), Buffer.from(b.blobs[k]!)) === 0);
}

void describe("gbt against scikit-learn HistGradientBoostingClassifier (synthetic data)", () => {
  for (const ref of fixture.reference) {
    void test(`maxDepth ${ref.maxDepth} (sklearn max_depth ${ref.sklearnMaxDepth}), ${ref.weighted ? "weighted" : "unweighted"}: test AUC within 0.01`, () => {
      const { model } = trainGbt(
        trainData(ref.weighted),
        { ...NOTEBOOK, maxDepth: ref.maxDepth, subsample: 1 },
        1,
      );
      const auc = weightedAuc(predictGbt(model, held.features), held.labels, held.weights);
      assert.ok(Math.abs(auc - ref.auc) < 0.01, `ours ${auc}, sklearn ${ref.auc}`);
    });
  }

  void test("subsample 0.65 (the notebook's settings) keeps the AUC in range", () => {
    const ref = fixture.reference.find((r) => r.maxDepth === 2 && r.weighted)!;
    for (const seed of [1, 2, 3]) {
      const { model } = trainGbt(trainData(), NOTEBOOK, seed);
      const auc = weightedAuc(predictGbt(model, held.features), held.labels, held.weights);
      assert.ok(
        Math.abs(auc - ref.auc) < 0.02,
        `seed ${seed}: ours ${auc}, sklearn (no subsample) ${ref.auc}`,
      );
    }
  });
});

void describe("gbt training", () => {
  void test("same data, options and seed give identical model bytes", () => {
    const a = trainGbt(trainData(), NOTEBOOK, 42);
    const b = trainGbt(trainData(), NOTEBOOK, 42);
    assert.ok(sameBytes(a.model, b.model));
    assert.deepEqual(a.trainLoss, b.trainLoss);
  });

  void test("another seed gives another model when subsampling, the same one without", () => {
    assert.ok(!sameBytes(trainGbt(trainData(), NOTEBOOK, 1).model, trainGbt(trainData(), NOTEBOOK, 2).model));
    const full = { ...NOTEBOOK, subsample: 1 };
    assert.ok(sameBytes(trainGbt(trainData(), full, 1).model, trainGbt(trainData(), full, 2).model));
  });

  void test("the last trainLoss is the weighted log-loss of predict on the training rows", () => {
    for (const weighted of [true, false]) {
      const { model, trainLoss } = trainGbt(trainData(weighted), NOTEBOOK, 5);
      assert.equal(trainLoss.length, NOTEBOOK.numTrees);
      const p = predictGbt(model, train.features);
      const loss = logLoss(p, train.labels, weighted ? train.weights : undefined);
      assert.ok(Math.abs(loss - trainLoss[trainLoss.length - 1]!) < 1e-9, `${loss} vs ${trainLoss.at(-1)}`);
      assert.ok(trainLoss[trainLoss.length - 1]! < trainLoss[0]!);
    }
  });

  void test("weights matter: doubling the signal weights raises every prediction's base and the mean", () => {
    const doubled = Float64Array.from(train.weights, (w, i) => (train.labels[i] === 1 ? 2 * w : w));
    const opts = { ...NOTEBOOK, subsample: 1 };
    const base = trainGbt(trainData(), opts, 1).model;
    const heavy = trainGbt({ ...trainData(), weights: doubled }, opts, 1).model;
    const b0 = decodeModel(base).forest.baseScore;
    const b1 = decodeModel(heavy).forest.baseScore;
    assert.ok(Math.abs(b1 - b0 - Math.log(2)) < 1e-12, `base scores ${b0} -> ${b1}`);
    const mean = (p: Float64Array) => p.reduce((s, v) => s + v, 0) / p.length;
    const p0 = mean(predictGbt(base, held.features));
    const p1 = mean(predictGbt(heavy, held.features));
    assert.ok(p1 > p0 + 0.03, `mean prediction ${p0} -> ${p1}`);
  });

  void test("rescaling all weights does not change the model (weights are normalised to mean 1)", () => {
    const scaled = Float64Array.from(train.weights, (w) => w * 1024);
    const a = trainGbt(trainData(), { ...NOTEBOOK, l2: 1 }, 3);
    const b = trainGbt({ ...trainData(), weights: scaled }, { ...NOTEBOOK, l2: 1 }, 3);
    assert.ok(sameBytes(a.model, b.model));
  });

  void test("a constant feature is never split on; every node has a valid feature", () => {
    const { model } = trainGbt(trainData(), { ...NOTEBOOK, maxDepth: 4 }, 9);
    const { forest } = decodeModel(model);
    const constant = fixture.featureNames.indexOf("x3_constant");
    const used = new Set(forest.feature);
    assert.ok(!used.has(constant));
    for (const f of ["x0", "x1", "x2_missing"]) assert.ok(used.has(fixture.featureNames.indexOf(f)), f);
  });

  void test("minExamples: every leaf holds at least that many training rows", () => {
    const minExamples = 150;
    const opts = { ...NOTEBOOK, subsample: 1, maxDepth: 5, numTrees: 20, minExamples };
    const { model } = trainGbt(trainData(), opts, 1);
    const { forest } = decodeModel(model);
    let splits = 0;
    for (let t = 0; t < opts.numTrees; t++) {
      const leaves = leafOf(model, t, train.features);
      const counts = new Map<number, number>();
      for (const k of leaves) counts.set(k, (counts.get(k) ?? 0) + 1);
      for (const [k, c] of counts) assert.ok(c >= minExamples, `tree ${t} leaf ${k}: ${c} rows`);
      splits += forest.treeStart[t + 1]! - forest.treeStart[t]! > 1 ? 1 : 0;
    }
    assert.ok(splits > 0, "some trees must split");
  });

  void test("maxDepth counts nodes as in TF-DF: 1 is a lone leaf, 2 a single split", () => {
    const one = decodeModel(trainGbt(trainData(), { ...NOTEBOOK, maxDepth: 1, numTrees: 5 }, 1).model).forest;
    assert.equal(one.feature.length, 5);
    assert.ok(one.feature.every((f) => f === -1));
    const two = decodeModel(trainGbt(trainData(), { ...NOTEBOOK, numTrees: 20 }, 1).model).forest;
    for (let t = 0; t < 20; t++) assert.ok(two.treeStart[t + 1]! - two.treeStart[t]! <= 3);
  });

  void test("missing values: learned as a direction, and missingness alone can be the signal", () => {
    const n = 4000;
    const rng = new Rng(11);
    const x = new Float64Array(n);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = rng.uniform() < 0.5 ? 1 : 0;
      // signal is mostly missing; present values carry no information
      x[i] = labels[i] === 1 && rng.uniform() < 0.8 ? NaN : rng.normal();
    }
    const { model } = trainGbt(
      { features: [x], featureNames: ["x"], labels },
      { ...NOTEBOOK, subsample: 1 },
      1,
    );
    const p = predictGbt(model, [Float64Array.of(NaN, 0, 1, -1)]);
    assert.ok(p.every((v) => Number.isFinite(v)));
    assert.ok(p[0]! > 0.75 && p[1]! < 0.4, `p(NaN)=${p[0]}, p(0)=${p[1]}`);
    // NaN at predict time in a feature that had none in training goes the more populated way.
    const { model: m2 } = trainGbt(trainData(), NOTEBOOK, 1);
    const probe = held.features.map((c) => Float64Array.from(c.subarray(0, 10)));
    probe[0]!.fill(NaN);
    assert.ok(predictGbt(m2, probe).every((v) => v > 0 && v < 1));
  });

  void test("infinite feature values train and predict consistently", () => {
    const features = train.features.map((c) => Float64Array.from(c));
    for (let i = 0; i < 50; i++) features[0]![i * 7] = i % 2 === 0 ? Infinity : -Infinity;
    const data = { ...trainData(), features };
    const { model, trainLoss } = trainGbt(data, NOTEBOOK, 1);
    const loss = logLoss(predictGbt(model, features), train.labels, train.weights);
    assert.ok(Math.abs(loss - trainLoss.at(-1)!) < 1e-9);
    assert.ok(decodeModel(model).binEdges.every((e) => e.every((v) => Number.isFinite(v))));
  });
});

void describe("gbt artifact", () => {
  const { model } = trainGbt(trainData(), { ...NOTEBOOK, numTrees: 10 }, 1);

  void test("meta names the format, version, options, features and bin edges", () => {
    assert.equal(model.meta.format, "quiver-gbt");
    assert.equal(model.meta.version, 1);
    assert.deepEqual(model.meta.featureNames, fixture.featureNames);
    assert.deepEqual(model.meta.options, { ...NOTEBOOK, numTrees: 10 });
    assert.equal((model.meta.binEdges as number[][]).length, fixture.featureNames.length);
    // little-endian int32: the first tree starts at node 0, the second after the first's nodes
    const ts = model.blobs.treeStart!;
    assert.deepEqual([...ts.subarray(0, 4)], [0, 0, 0, 0]);
    assert.equal(ts[4], decodeModel(model).forest.treeStart[1]);
  });

  void test("survives a JSON/bytes round trip, including unaligned blob bytes", () => {
    const meta = JSON.parse(JSON.stringify(model.meta)) as typeof model.meta;
    const blobs: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(model.blobs)) {
      const shifted = new Uint8Array(v.length + 1);
      shifted.set(v, 1);
      blobs[k] = shifted.subarray(1);
    }
    assert.deepEqual(predictGbt({ meta, blobs }, held.features), predictGbt(model, held.features));
  });

  const broken: [
    string,
    (m: { meta: Record<string, unknown>; blobs: Record<string, Uint8Array> }) => void,
    RegExp,
  ][] = [
    ["wrong format", (m) => (m.meta.format = "tfdf"), /not a gradient-boosted-trees model.*"tfdf"/],
    ["newer version", (m) => (m.meta.version = 2), /unsupported quiver-gbt version 2/],
    ["missing blob", (m) => delete m.blobs.value, /blob "value" is missing/],
    [
      "truncated blob",
      (m) => (m.blobs.threshold = m.blobs.threshold!.subarray(3)),
      /not a whole number of float64/,
    ],
    ["short blob", (m) => (m.blobs.left = m.blobs.left!.subarray(4)), /blob "left" has/],
    [
      "child pointing backwards",
      (m) => {
        const right = m.blobs.right!;
        const copy = new Uint8Array(right);
        new DataView(copy.buffer).setInt32(0, 0, true);
        m.blobs.right = copy;
      },
      /child index out of range/,
    ],
    ["feature names", (m) => (m.meta.featureNames = [1, 2]), /featureNames must be an array of strings/],
  ];
  for (const [name, mutate, message] of broken) {
    void test(`a malformed artifact is rejected with a clear error: ${name}`, () => {
      const m = { meta: { ...model.meta } as Record<string, unknown>, blobs: { ...model.blobs } };
      mutate(m);
      assert.throws(() => predictGbt(m as unknown as ModelArtifact, held.features), message);
    });
  }

  void test("predict with the wrong number of columns says what it expects", () => {
    assert.throws(() => predictGbt(model, held.features.slice(1)), /expects 5 features \(x0, x1/);
  });
});

void describe("gbt input errors", () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      "one class",
      () => trainGbt({ ...trainData(), labels: new Uint8Array(train.labels.length) }, NOTEBOOK, 1),
      /both classes/,
    ],
    [
      "label 2",
      () =>
        trainGbt(
          { ...trainData(), labels: Uint8Array.from(train.labels, (v, i) => (i === 3 ? 2 : v)) },
          NOTEBOOK,
          1,
        ),
      /labels must be 0 or 1; row 3 has 2/,
    ],
    [
      "negative weight",
      () =>
        trainGbt(
          { ...trainData(), weights: Float64Array.from(train.weights, (w, i) => (i === 5 ? -1 : w)) },
          NOTEBOOK,
          1,
        ),
      /weights must be finite and >= 0; row 5 has -1/,
    ],
    [
      "column length",
      () =>
        trainGbt(
          { ...trainData(), features: [train.features[0]!.subarray(1)], featureNames: ["a"] },
          NOTEBOOK,
          1,
        ),
      /"a" has/,
    ],
    [
      "names",
      () => trainGbt({ ...trainData(), featureNames: ["a"] }, NOTEBOOK, 1),
      /5 feature columns but 1 feature names/,
    ],
    [
      "maxBins",
      () => trainGbt(trainData(), { ...NOTEBOOK, maxBins: 256 }, 1),
      /maxBins must be an integer in \[2, 255\]/,
    ],
    [
      "subsample",
      () => trainGbt(trainData(), { ...NOTEBOOK, subsample: 0 }, 1),
      /subsample must be in \(0, 1\]/,
    ],
    ["maxDepth", () => trainGbt(trainData(), { ...NOTEBOOK, maxDepth: 0 }, 1), /maxDepth must be an integer/],
  ];
  for (const [name, run, message] of cases) void test(name, () => assert.throws(run, message));
});
