/**
 * The gbt model on the ATLAS open-data dark-matter CSVs (the notebook's TF-DF comparison),
 * against scikit-learn's HistGradientBoostingClassifier on the same train/test split.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { predictGbt, trainGbt, weightedAuc } from "../stages/lib/gbt/index.js";
import type { GbtOptions } from "../stages/lib/gbt/index.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const dataDir = path.resolve(repoRoot, "..", "shared", "data", "atlas_dm_ml_notebook");

interface DarkMatterFixture {
  processes: string[];
  signal: string;
  featureNames: string[];
  rows: number;
  testRows: number[];
  reference: { maxDepth: number; weighted: boolean; sklearnMaxDepth: number; auc: number }[];
}
const fixture = JSON.parse(
  fs.readFileSync(path.join(repoRoot, "test", "fixtures", "gbt", "darkmatter.json"), "utf8"),
) as DarkMatterFixture;

/** Minimal reader for these numeric CSVs (the load stage is tested elsewhere). */
function readCsv(file: string, columns: readonly string[]): Float64Array[] {
  const lines = fs
    .readFileSync(file, "utf8")
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
  const header = lines[0]!.split(",");
  const index = columns.map((c) => {
    const i = header.indexOf(c);
    if (i < 0) throw new Error(`${file}: no column ${c}`);
    return i;
  });
  const out = columns.map(() => new Float64Array(lines.length - 1));
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r]!.split(",");
    index.forEach((i, c) => (out[c]![r - 1] = Number(cells[i])));
  }
  return out;
}

interface Part {
  features: Float64Array[];
  labels: Uint8Array;
  weights: Float64Array;
}

function loadSplit(): { train: Part; test: Part } {
  const columns = [...fixture.featureNames, "totalWeight"];
  const parts = fixture.processes.map((p) => ({ p, cols: readCsv(path.join(dataDir, p + ".csv"), columns) }));
  const n = parts.reduce((s, { cols }) => s + cols[0]!.length, 0);
  assert.equal(n, fixture.rows, "row count differs from the one the fixture was generated with");
  const all = columns.map(() => new Float64Array(n));
  const labels = new Uint8Array(n);
  let at = 0;
  for (const { p, cols } of parts) {
    cols.forEach((c, j) => all[j]!.set(c, at));
    labels.fill(p === fixture.signal ? 1 : 0, at, at + cols[0]!.length);
    at += cols[0]!.length;
  }
  const isTest = new Uint8Array(n);
  for (const r of fixture.testRows) isTest[r] = 1;
  const part = (want: number): Part => {
    const idx: number[] = [];
    for (let r = 0; r < n; r++) if (isTest[r] === want) idx.push(r);
    const weightCol = all[all.length - 1]!;
    return {
      features: all.slice(0, -1).map((c) => Float64Array.from(idx, (r) => c[r]!)),
      labels: Uint8Array.from(idx, (r) => labels[r]!),
      weights: Float64Array.from(idx, (r) => Math.abs(weightCol[r]!)),
    };
  };
  return { train: part(0), test: part(1) };
}

const NOTEBOOK: GbtOptions = {
  numTrees: 150,
  maxDepth: 2,
  minExamples: 6,
  subsample: 0.65,
  shrinkage: 0.2,
  maxBins: 255,
  l2: 0,
};

void test("dark-matter data: AUC matches scikit-learn HistGradientBoosting within 0.01", (t) => {
  if (!fs.existsSync(dataDir)) {
    t.skip(`dark-matter CSVs not found at ${path.relative(repoRoot, dataDir)}`);
    return;
  }
  const { train, test } = loadSplit();
  for (const ref of fixture.reference) {
    const { model } = trainGbt(
      {
        features: train.features,
        featureNames: fixture.featureNames,
        labels: train.labels,
        weights: ref.weighted ? train.weights : undefined,
      },
      { ...NOTEBOOK, maxDepth: ref.maxDepth, subsample: 1 },
      7,
    );
    const auc = weightedAuc(predictGbt(model, test.features), test.labels, test.weights);
    const what = `maxDepth ${ref.maxDepth} (sklearn ${ref.sklearnMaxDepth}), ${ref.weighted ? "weighted" : "unweighted"}`;
    assert.ok(Math.abs(auc - ref.auc) < 0.01, `${what}: ours ${auc}, sklearn ${ref.auc}`);
    // Same bins, gains, tie-breaks and splits as scikit-learn: the AUCs agree to rounding
    // (leaf values differ in the last bits: scikit-learn keeps float32 gradients).
    assert.ok(
      Math.abs(auc - ref.auc) < 1e-12,
      `${what}: ours ${auc}, sklearn ${ref.auc} (bin-level agreement lost)`,
    );
  }
});

void test("dark-matter data: the notebook's settings (subsample 0.65) give a sensible AUC", (t) => {
  if (!fs.existsSync(dataDir)) {
    t.skip(`dark-matter CSVs not found at ${path.relative(repoRoot, dataDir)}`);
    return;
  }
  const { train, test } = loadSplit();
  const ref = fixture.reference.find((r) => r.maxDepth === NOTEBOOK.maxDepth && r.weighted)!;
  for (const seed of [1, 2]) {
    const { model } = trainGbt(
      {
        features: train.features,
        featureNames: fixture.featureNames,
        labels: train.labels,
        weights: train.weights,
      },
      NOTEBOOK,
      seed,
    );
    const auc = weightedAuc(predictGbt(model, test.features), test.labels, test.weights);
    assert.ok(
      Math.abs(auc - ref.auc) < 0.03,
      `seed ${seed}: ours ${auc}, sklearn without subsampling ${ref.auc}`,
    );
  }
});

interface XgboostReference {
  maxDepth: number;
  xgboostMaxDepth: number;
  numTrees: number;
  shrinkage: number;
  l2: number;
  weighted: boolean;
  auc: number;
}
const xgboost = JSON.parse(
  fs.readFileSync(path.join(repoRoot, "test", "fixtures", "gbt", "xgboost.json"), "utf8"),
) as { darkmatter: XgboostReference[] | null };

/**
 * Stumps (the benchmark's dark-matter case) agree with XGBoost to 0.001 (measured 0.0003). At depth
 * 3 XGBoost's weighted quantile sketch puts its bin edges elsewhere on these weights, spanning
 * orders of magnitude, and its AUC is 0.0085 below scikit-learn's (which quiver equals): 0.01 there.
 */
const xgboostTolerance = (ref: XgboostReference): number => (ref.maxDepth <= 2 ? 0.001 : 0.01);

void test("dark-matter data: AUC against XGBoost hist", (t) => {
  if (!fs.existsSync(dataDir) || xgboost.darkmatter === null) {
    t.skip(`dark-matter CSVs not found at ${path.relative(repoRoot, dataDir)}`);
    return;
  }
  const { train, test } = loadSplit();
  for (const ref of xgboost.darkmatter) {
    const { model } = trainGbt(
      {
        features: train.features,
        featureNames: fixture.featureNames,
        labels: train.labels,
        weights: ref.weighted ? train.weights : undefined,
      },
      {
        numTrees: ref.numTrees,
        maxDepth: ref.maxDepth,
        minExamples: 1,
        subsample: 1,
        shrinkage: ref.shrinkage,
        maxBins: 255,
        l2: ref.l2,
      },
      7,
    );
    const auc = weightedAuc(predictGbt(model, test.features), test.labels, test.weights);
    assert.ok(
      Math.abs(auc - ref.auc) <= xgboostTolerance(ref),
      `maxDepth ${ref.maxDepth} (XGBoost ${ref.xgboostMaxDepth}): ours ${auc}, XGBoost ${ref.auc}`,
    );
  }
});
