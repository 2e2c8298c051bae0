import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { approximateMode, kFoldAssignment, trainTestSizes } from "../stages/lib/folds.js";
import { Rng } from "../stages/lib/random.js";
import { StageError } from "../core/stage.js";
import { readSharedFixture, readTransformsFixture } from "./fixtures/transforms/read.js";

interface SplitsFixture {
  train_test_split: { n: number; test: number; train: number | null; n_train: number; n_test: number }[];
  kfold: { n: number; k: number; fold_sizes: number[] }[];
  stratified_kfold: {
    blocks: [number, number][];
    k: number;
    labels: number[];
    per_fold_class_counts: number[][];
  }[];
}
interface SharedSplits {
  cases: {
    train_test_split: { n: number; test_size: number; n_train: number; n_test: number }[];
    kfold: { n: number; k: number; kfold_test_sizes: number[] }[];
    stratified_kfold: { n: number; k: number; class_counts: number[]; per_fold_class_counts: number[][] }[];
  };
}

const fx = readTransformsFixture<SplitsFixture>("splits.json");

function foldSizes(folds: Int32Array, k: number): number[] {
  const s = new Array<number>(k).fill(0);
  for (const f of folds) s[f]!++;
  return s;
}

function yFromBlocks(blocks: [number, number][]): Int32Array {
  const y: number[] = [];
  for (const [v, c] of blocks) for (let i = 0; i < c; i++) y.push(v);
  return Int32Array.from(y);
}

void describe("trainTestSizes", () => {
  void test("matches scikit-learn's train_test_split sizes", () => {
    for (const c of fx.train_test_split) {
      const got = trainTestSizes(c.n, c.test, c.train ?? undefined);
      assert.deepEqual(got, { train: c.n_train, test: c.n_test }, JSON.stringify(c));
    }
    assert.ok(fx.train_test_split.length > 100);
  });

  void test("matches the shared train_test_split fixture", (t) => {
    const shared = readSharedFixture<SharedSplits>("splits.json");
    if (!shared) return t.skip("shared fixtures folder not present");
    for (const c of shared.cases.train_test_split)
      assert.deepEqual(trainTestSizes(c.n, c.test_size), { train: c.n_train, test: c.n_test });
  });

  void test("rejects sizes scikit-learn rejects", () => {
    const bad: [number, number, number | undefined][] = [
      [10, 0, undefined],
      [10, 1.5, undefined],
      [10, 10, undefined],
      [10, 0.5, 0.6],
      [10, 4, 7],
      [2, 0.9, undefined], // ceil(1.8) = 2 test rows leaves no training row
    ];
    for (const [n, te, tr] of bad)
      assert.throws(
        () => trainTestSizes(n, te, tr),
        (e) => e instanceof StageError && e.code === "QV_SPLIT_SIZE",
        `${n} ${te} ${tr}`,
      );
  });
});

void describe("kFoldAssignment", () => {
  void test("fold sizes as KFold: the first n % k folds get one more row", () => {
    for (const c of fx.kfold) assert.deepEqual(foldSizes(kFoldAssignment(c.n, c.k, 5), c.k), c.fold_sizes);
  });

  void test("per-fold class counts as StratifiedKFold, classes in order of appearance", () => {
    for (const c of fx.stratified_kfold) {
      const y = yFromBlocks(c.blocks);
      const folds = kFoldAssignment(y.length, c.k, 11, y);
      const got = Array.from({ length: c.k }, () => c.labels.map(() => 0));
      folds.forEach((f, i) => got[f]![c.labels.indexOf(y[i]!)]!++);
      assert.deepEqual(got, c.per_fold_class_counts, JSON.stringify(c.blocks));
    }
  });

  void test("matches the shared KFold and StratifiedKFold fixture", (t) => {
    const shared = readSharedFixture<SharedSplits>("splits.json");
    if (!shared) return t.skip("shared fixtures folder not present");
    for (const c of shared.cases.kfold)
      assert.deepEqual(foldSizes(kFoldAssignment(c.n, c.k, 1), c.k), c.kfold_test_sizes);
    for (const c of shared.cases.stratified_kfold) {
      const y = yFromBlocks(c.class_counts.map((n, v) => [v, n]));
      const folds = kFoldAssignment(c.n, c.k, 2, y);
      const got = Array.from({ length: c.k }, () => [0, 0]);
      folds.forEach((f, i) => got[f]![y[i]!]!++);
      assert.deepEqual(got, c.per_fold_class_counts);
    }
  });

  void test("is deterministic in the seed and shuffles", () => {
    const a = kFoldAssignment(1000, 5, 1);
    assert.deepEqual(a, kFoldAssignment(1000, 5, 1));
    assert.notDeepEqual(a, kFoldAssignment(1000, 5, 2));
    // Shuffled: the first 200 rows are not all in one fold.
    assert.ok(new Set(a.subarray(0, 200)).size > 1);
  });

  void test("errors: too many folds, too few class members", () => {
    assert.throws(() => kFoldAssignment(3, 4, 1), /cannot make 4 folds from 3 rows/);
    assert.throws(() => kFoldAssignment(10, 1, 1), StageError);
    assert.throws(
      () => kFoldAssignment(6, 4, 1, Int32Array.from([0, 0, 0, 1, 1, 1])),
      /every class has fewer/,
    );
  });
});

void describe("approximateMode", () => {
  void test("proportional floors plus largest remainders", () => {
    const rng = new Rng(1);
    assert.deepEqual(approximateMode([84, 16], 75, rng), [63, 12]);
    assert.deepEqual(approximateMode([7, 5, 3], 9, rng), [4, 3, 2]);
    // A tie (remainders 0.5 / 0.5) goes either way, but the total is always n_draws.
    const seen = new Set<string>();
    for (let s = 0; s < 30; s++) seen.add(approximateMode([333, 667], 500, new Rng(s)).join(","));
    assert.deepEqual([...seen].sort(), ["166,334", "167,333"]);
  });
});
