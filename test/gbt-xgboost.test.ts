/**
 * The gbt model against XGBoost (tree_method "hist") on the synthetic fixture data: test AUCs from
 * test/fixtures/gbt/xgboost.json (made by test/fixtures/gen/gbt_xgboost.py). XGBoost bins by a
 * weighted quantile sketch and quiver as scikit-learn does, so the trees are not the same; the AUCs
 * are compared to a stated tolerance. The dark-matter references are checked in
 * gbt-darkmatter.test.ts, next to the data they need.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { predictGbt, trainGbt, weightedAuc } from "../stages/lib/gbt/index.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const readFixture = (name: string): unknown =>
  JSON.parse(fs.readFileSync(path.join(repoRoot, "test", "fixtures", "gbt", name), "utf8"));

interface XgboostReference {
  maxDepth: number;
  xgboostMaxDepth: number;
  numTrees: number;
  shrinkage: number;
  l2: number;
  weighted: boolean;
  auc: number;
}
const xgboost = readFixture("xgboost.json") as { synthetic: XgboostReference[] };
const data = readFixture("synthetic.json") as {
  featureNames: string[];
  features: (number | null)[][];
  labels: number[];
  weights: number[];
  testRows: number[];
};

function part(isTest: Uint8Array, want: number) {
  const idx: number[] = [];
  for (let r = 0; r < isTest.length; r++) if (isTest[r] === want) idx.push(r);
  return {
    features: data.features.map((col) => Float64Array.from(idx, (r) => col[r] ?? NaN)),
    labels: Uint8Array.from(idx, (r) => data.labels[r]!),
    weights: Float64Array.from(idx, (r) => data.weights[r]!),
  };
}
const isTest = new Uint8Array(data.labels.length);
for (const r of data.testRows) isTest[r] = 1;
const train = part(isTest, 0);
const held = part(isTest, 1);

/**
 * Shallow trees on 4,000 rows agree with XGBoost to 0.001 (measured: ≤ 0.0005). Depth 6 (the
 * 1M-row benchmark's shape) on so few rows fits noise, where two binnings give different trees:
 * measured 0.0022 apart, so 0.004 here; the benchmark checks 0.001 on its 1M rows.
 */
const tolerance = (ref: XgboostReference): number => (ref.maxDepth <= 3 ? 0.001 : 0.004);

void describe("gbt against XGBoost hist (synthetic data)", () => {
  for (const ref of xgboost.synthetic) {
    const what =
      `maxDepth ${ref.maxDepth} (XGBoost max_depth ${ref.xgboostMaxDepth}), ${ref.numTrees} trees, ` +
      `${ref.weighted ? "weighted" : "unweighted"}`;
    void test(`${what}: test AUC within ${tolerance(ref)} of XGBoost's`, () => {
      const { model } = trainGbt(
        {
          features: train.features,
          featureNames: data.featureNames,
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
        1,
      );
      const auc = weightedAuc(predictGbt(model, held.features), held.labels, held.weights);
      assert.ok(Math.abs(auc - ref.auc) <= tolerance(ref), `ours ${auc}, XGBoost ${ref.auc}`);
    });
  }
});
