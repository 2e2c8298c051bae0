/**
 * Histogram gradient boosting for binary classification with the log-loss and event weights.
 * Each tree: Newton gradients of the current scores, a row subsample drawn without replacement,
 * a depth-wise tree on binned features, then a score update of every training row.
 */
import { Rng } from "../random.js";
import { deriveSeed } from "../../../core/seed.js";
import { encodeModel } from "./artifact.js";
import { binColumns, binEdges, MISSING_BIN } from "./binning.js";
import { growTree } from "./grow.js";
import type { GrownTree } from "./grow.js";
import type { GbtOptions, GbtTrainData, GbtTrainResult } from "./types.js";

/** Deepest tree accepted: depth-wise growth keeps up to 2^(maxDepth-1) leaves. */
export const MAX_DEPTH_LIMIT = 16;

export function trainGbt(data: GbtTrainData, options: GbtOptions, seed: number): GbtTrainResult {
  checkOptions(options);
  const { n, weights } = checkData(data);
  const { features } = data;
  const labels = data.labels;
  const numFeatures = features.length;

  const edges = features.map((col) => binEdges(col, options.maxBins));
  const codes = binColumns(features, edges, n);
  const numBins = Int32Array.from(edges, (e) => e.length + 1);
  const splittable = new Uint8Array(numFeatures);
  for (let f = 0; f < numFeatures; f++) {
    let hasMissing = false;
    const base = f * n;
    for (let r = 0; r < n && !hasMissing; r++) hasMissing = codes[base + r] === MISSING_BIN;
    // A single-valued column (no edges) is never split, unless it has missing values to separate.
    splittable[f] = numBins[f]! >= 2 || (hasMissing && hasPresent(features[f]!)) ? 1 : 0;
  }

  const histFeatures = Int32Array.from(splittable.keys()).filter((f) => splittable[f] === 1);

  let posWeight = 0;
  let negWeight = 0;
  for (let r = 0; r < n; r++) {
    if (labels[r] === 1) posWeight += weights[r]!;
    else negWeight += weights[r]!;
  }
  const baseScore = Math.log(posWeight / negWeight);
  const scores = new Float64Array(n).fill(baseScore);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  updateGradients(scores, labels, weights, grad, hess);

  const sampleSize = Math.max(1, Math.round(options.subsample * n));
  const rows = new Int32Array(sampleSize);
  const trainLoss = new Float64Array(options.numTrees);
  const treeStart = new Int32Array(options.numTrees + 1);
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const missingLeft: number[] = [];
  const value: number[] = [];

  for (let t = 0; t < options.numTrees; t++) {
    if (sampleSize === n) for (let r = 0; r < n; r++) rows[r] = r;
    else sampleRows(new Rng(deriveSeed(seed, "tree" + t)), n, rows);
    const tree = growTree({
      codes,
      n,
      numBins,
      splittable,
      histFeatures,
      edges,
      grad,
      hess,
      rows,
      maxDepth: options.maxDepth,
      minExamples: options.minExamples,
      l2: options.l2,
      shrinkage: options.shrinkage,
    });
    const offset = feature.length;
    treeStart[t] = offset;
    for (let i = 0; i < tree.feature.length; i++) {
      feature.push(tree.feature[i]!);
      threshold.push(tree.threshold[i]!);
      left.push(tree.left[i]!);
      right.push(tree.right[i]!);
      missingLeft.push(tree.missingLeft[i]!);
      value.push(tree.value[i]!);
    }
    addTree(tree, codes, n, scores);
    trainLoss[t] = updateGradients(scores, labels, weights, grad, hess);
  }
  treeStart[options.numTrees] = feature.length;

  const model = encodeModel({
    forest: {
      baseScore,
      treeStart,
      feature: Int32Array.from(feature),
      threshold: Float64Array.from(threshold),
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      missingLeft: Uint8Array.from(missingLeft),
      value: Float64Array.from(value),
    },
    featureNames: data.featureNames,
    options,
    binEdges: edges,
  });
  return { model, trainLoss };
}

/**
 * Adds the tree's leaf values to every row's score, walking bin codes rather than raw values:
 * code <= bin is the same test as value <= threshold, so predict reproduces these scores.
 */
function addTree(tree: GrownTree, codes: Uint8Array, n: number, scores: Float64Array): void {
  const feature = Int32Array.from(tree.feature);
  const bin = Int32Array.from(tree.bin);
  const left = Int32Array.from(tree.left);
  const right = Int32Array.from(tree.right);
  const missingLeft = Uint8Array.from(tree.missingLeft);
  const value = Float64Array.from(tree.value);
  for (let r = 0; r < n; r++) {
    let k = 0;
    for (let f = feature[0]!; f >= 0; f = feature[k]!) {
      const c = codes[f * n + r]!;
      const goLeft = c === MISSING_BIN ? missingLeft[k] === 1 : c <= bin[k]!;
      k = goLeft ? left[k]! : right[k]!;
    }
    scores[r] = scores[r]! + value[k]!;
  }
}

/**
 * Gradient and hessian of the weighted log-loss at the current scores; returns the weighted
 * mean loss. Weights are normalised to mean 1, so their sum is n.
 */
function updateGradients(
  scores: Float64Array,
  labels: Uint8Array,
  weights: Float64Array,
  grad: Float64Array,
  hess: Float64Array,
): number {
  const n = scores.length;
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const s = scores[r]!;
    const w = weights[r]!;
    const y = labels[r]!;
    const e = Math.exp(-Math.abs(s));
    const p = s >= 0 ? 1 / (1 + e) : e / (1 + e);
    // log(1 + exp(s)) - y * s, computed without overflow
    loss += w * ((s > 0 ? s : 0) + Math.log1p(e) - y * s);
    grad[r] = w * (p - y);
    hess[r] = w * p * (1 - p);
  }
  return loss / n;
}

/** Selection sampling (Knuth's algorithm S): exactly rows.length of n rows, in ascending order. */
function sampleRows(rng: Rng, n: number, rows: Int32Array): void {
  let need = rows.length;
  let k = 0;
  for (let r = 0; r < n && need > 0; r++) {
    // One 32-bit draw per row: the selection probability need/(n-r) needs no finer resolution.
    if (rng.nextUint32() * 2.3283064365386963e-10 * (n - r) < need) {
      rows[k++] = r;
      need--;
    }
  }
}

function hasPresent(col: Float64Array): boolean {
  for (let i = 0; i < col.length; i++) if (!Number.isNaN(col[i]!)) return true;
  return false;
}

function checkOptions(o: GbtOptions): void {
  const int = (name: keyof GbtOptions, min: number, max: number): void => {
    const v = o[name];
    if (!Number.isInteger(v) || v < min || v > max)
      throw new RangeError(`gbt option ${name} must be an integer in [${min}, ${max}], got ${v}`);
  };
  int("numTrees", 1, 100_000);
  int("maxDepth", 1, MAX_DEPTH_LIMIT);
  int("minExamples", 1, Number.MAX_SAFE_INTEGER);
  int("maxBins", 2, 255);
  if (!(o.subsample > 0 && o.subsample <= 1))
    throw new RangeError(`gbt option subsample must be in (0, 1], got ${o.subsample}`);
  if (!(o.shrinkage > 0 && Number.isFinite(o.shrinkage)))
    throw new RangeError(`gbt option shrinkage must be a positive number, got ${o.shrinkage}`);
  if (!(o.l2 >= 0 && Number.isFinite(o.l2))) throw new RangeError(`gbt option l2 must be >= 0, got ${o.l2}`);
}

/** Validates shapes, labels and weights; returns the row count and weights normalised to mean 1. */
function checkData(data: GbtTrainData): { n: number; weights: Float64Array } {
  const { features, featureNames, labels } = data;
  if (features.length === 0) throw new Error("gbt training needs at least one feature");
  if (featureNames.length !== features.length)
    throw new Error(
      `gbt training got ${features.length} feature columns but ${featureNames.length} feature names`,
    );
  const n = labels.length;
  if (n === 0) throw new Error("gbt training needs at least one row");
  features.forEach((col, f) => {
    if (col.length !== n)
      throw new Error(`gbt feature "${featureNames[f]}" has ${col.length} values but there are ${n} labels`);
  });
  for (let r = 0; r < n; r++) {
    if (labels[r]! > 1) throw new Error(`gbt labels must be 0 or 1; row ${r} has ${labels[r]}`);
  }
  const weights = new Float64Array(n);
  if (data.weights) {
    if (data.weights.length !== n)
      throw new Error(`gbt weights have ${data.weights.length} values but there are ${n} labels`);
    for (let r = 0; r < n; r++) {
      const w = data.weights[r]!;
      if (!(w >= 0 && Number.isFinite(w)))
        throw new Error(`gbt weights must be finite and >= 0; row ${r} has ${w}`);
      weights[r] = w;
    }
  } else weights.fill(1);
  let pos = 0;
  let total = 0;
  for (let r = 0; r < n; r++) {
    total += weights[r]!;
    if (labels[r] === 1) pos += weights[r]!;
  }
  if (!(pos > 0) || !(total - pos > 0))
    throw new Error(
      "gbt training needs rows of both classes (label 0 and label 1) with positive total weight",
    );
  // Mean-1 weights: l2 and the minimum child hessian then mean the same whatever the weights' units.
  const scale = n / total;
  for (let r = 0; r < n; r++) weights[r] = weights[r]! * scale;
  return { n, weights };
}
