/**
 * Histogram gradient boosting for binary classification with the log-loss and event weights.
 * Each tree: Newton gradients of the current scores, a row subsample drawn without replacement,
 * a depth-wise tree on binned features, then a score update of every training row.
 *
 * The per-row work runs as WebAssembly jobs (wasm/gbt/) on the session's threads; see session.ts
 * for the memory and grow.ts for the tree. Every sum has a fixed order that does not depend on
 * the thread count, so the model is bit-identical for any number of threads.
 */
import { Rng } from "../random.js";
import { deriveSeed } from "../../../core/seed.js";
import { encodeModel } from "./artifact.js";
import { binEdges, binInThreads } from "./binning.js";
import { growTree, MIN_CHILD_HESSIAN } from "./grow.js";
import type { GrownTree } from "./grow.js";
import {
  AT,
  ATD,
  BLOCK_OUT_BYTES,
  KIND_APPLY,
  KIND_GRADIENTS,
  KIND_TRANSPOSE,
  NODE_BYTES,
  ROOT_COUNTS_REUSE,
  ROOT_COUNTS_SAVE,
  TASK_BYTES,
} from "./layout.js";
import { GbtSession } from "./session.js";
import type { GbtOptions, GbtRunOptions, GbtTrainData, GbtTrainResult } from "./types.js";

/** Deepest tree accepted: depth-wise growth keeps up to 2^(maxDepth-1) leaves. */
export const MAX_DEPTH_LIMIT = 16;

/**
 * Bin codes (rows x histogram features) a thread needs before a second one pays for the
 * synchronisation after every job (a tree of depth d has about 2d jobs). Histogram blocks small
 * enough to share (layout.ts `histBlockRows`) make the dark-matter set (15,687 x 7 = 110k codes)
 * about 0.85x as long on two threads as on one (bench/results/gbt.md); below ~50k codes per
 * thread a job is a few tens of microseconds and waking a thread costs as much.
 */
const MIN_CELLS_PER_THREAD = 50_000;

/**
 * Whether the histograms must count rows per bin. Counting is a third of a histogram update
 * (~15% of a training on 1M x 20) and serves two things only: `minExamples` above 1, and the
 * missing-value rules (whether a node has missing values, where they go when it has none). With
 * `minExamples` 1 the hessian floor already implies the count check (a child whose hessian sum
 * reaches MIN_CHILD_HESSIAN > 0 has a row, as no row's hessian is negative), and without missing
 * values among the training rows the rest needs only the left row count of the chosen split,
 * which the partition (or the split-apply pass) gives: grow.ts takes it from there. The model is
 * the same either way.
 */
export function needsRowCounts(minExamples: number, missingValues: boolean): boolean {
  return minExamples > 1 || missingValues || !(MIN_CHILD_HESSIAN > 0);
}

/** Threads worth using for n rows and f splittable features, up to `allowed`. */
export function usefulGbtThreads(n: number, f: number, allowed: number): number {
  return Math.max(1, Math.min(Math.floor(allowed), Math.floor((n * f) / MIN_CELLS_PER_THREAD), 64));
}

export function trainGbt(
  data: GbtTrainData,
  options: GbtOptions,
  seed: number,
  run: GbtRunOptions = {},
): GbtTrainResult {
  checkOptions(options);
  const { n, weights } = checkData(data);
  const { features, labels } = data;
  const numFeatures = features.length;

  const edges = features.map((col) => binEdges(col, options.maxBins));
  const numBins = Int32Array.from(edges, (e) => e.length + 1);
  const hist: number[] = [];
  let histMissing = false;
  for (let f = 0; f < numFeatures; f++) {
    const missing = countMissing(features[f]!);
    // A single-valued column (no edges) is never split, unless it has missing values to separate.
    if (numBins[f]! >= 2 || (missing > 0 && missing < n)) {
      hist.push(f);
      if (missing > 0) histMissing = true;
    }
  }
  const histCols = Int32Array.from(hist);

  let posWeight = 0;
  let negWeight = 0;
  for (let r = 0; r < n; r++) {
    if (labels[r] === 1) posWeight += weights[r]!;
    else negWeight += weights[r]!;
  }
  const baseScore = Math.log(posWeight / negWeight);
  const sampleSize = Math.max(1, Math.round(options.subsample * n));
  const subsampled = sampleSize < n;
  const threads = usefulGbtThreads(n, histCols.length, run.threads ?? 1);

  const s = new GbtSession({
    n,
    numFeatures,
    histCols,
    numBins: Int32Array.from(histCols, (f) => numBins[f]!),
    sampleSize,
    subsampled,
    minExamples: options.minExamples,
    countRows: run.countRows === true || needsRowCounts(options.minExamples, histMissing),
    l2: options.l2,
    minChildHessian: MIN_CHILD_HESSIAN,
    threads,
  });
  try {
    binInThreads(s, features, edges, n);
    s.run(KIND_TRANSPOSE, s.blocks);
    s.mem.u8(s.labels, n).set(labels);
    s.mem.f64(s.weights, n).set(weights);
    s.mem.f64(s.scores, n).fill(baseScore);

    const trainLoss = new Float64Array(options.numTrees);
    const treeStart = new Int32Array(options.numTrees + 1);
    const forest: Omit<GrownTree, "leaves"> = {
      feature: [],
      threshold: [],
      bin: [],
      left: [],
      right: [],
      missingLeft: [],
      value: [],
    };
    let walkTree = 0;
    for (let t = 0; t <= options.numTrees; t++) {
      const last = t === options.numTrees;
      const cur = subsampled && !last ? s.masks[t & 1]! : 0;
      if (cur !== 0) {
        const mask = s.mem.u8(cur, n);
        mask.fill(0);
        const rows = s.mem.i32(s.rows, sampleSize);
        sampleRows(new Rng(deriveSeed(seed, "tree" + t)), n, rows);
        for (let k = 0; k < sampleSize; k++) mask[rows[k]!] = 1;
      }
      // Scores of rows outside the last sample catch up with the last tree, then the gradients
      // of every row, the loss after the last tree and the totals of this tree's rows.
      s.run(KIND_GRADIENTS, s.blocks, {
        walkTree,
        prevMask: walkTree !== 0 ? s.masks[(t - 1) & 1]! : 0,
        curMask: cur,
        blockOut: s.blockOut,
        resetRows: subsampled ? 0 : 1,
      });
      const sums = s.mem.f64(s.blockOut, (s.blocks * BLOCK_OUT_BYTES) / 8);
      let loss = 0;
      let rootG = 0;
      let rootH = 0;
      for (let b = 0; b < s.blocks; b++) {
        loss += sums[4 * b]!;
        rootG += sums[4 * b + 1]!;
        rootH += sums[4 * b + 2]!;
      }
      if (t > 0) trainLoss[t - 1] = loss / n;
      if (last) break;

      const rootCounts = !s.countRows || subsampled ? 0 : t === 0 ? ROOT_COUNTS_SAVE : ROOT_COUNTS_REUSE;
      const tree = growTree(s, options, edges, histCols, sampleSize, rootG, rootH, rootCounts);
      applyLeaves(s, tree);
      treeStart[t] = forest.feature.length;
      for (const k of ["feature", "threshold", "bin", "left", "right", "missingLeft", "value"] as const)
        for (const v of tree[k]) forest[k].push(v);
      walkTree = subsampled ? writeWalkTree(s, tree) : 0;
    }
    treeStart[options.numTrees] = forest.feature.length;

    const model = encodeModel({
      forest: {
        baseScore,
        treeStart,
        feature: Int32Array.from(forest.feature),
        threshold: Float64Array.from(forest.threshold),
        left: Int32Array.from(forest.left),
        right: Int32Array.from(forest.right),
        missingLeft: Uint8Array.from(forest.missingLeft),
        value: Float64Array.from(forest.value),
      },
      featureNames: data.featureNames,
      options,
      binEdges: edges,
    });
    return { model, trainLoss, threads: s.threadCount };
  } finally {
    s.close();
  }
}

/** Adds each leaf's value to the scores of its rows (the rows of this tree's sample). */
function applyLeaves(s: GbtSession, tree: GrownTree): void {
  const t = s.tasks(tree.leaves.length);
  const w = TASK_BYTES / 4;
  const d = TASK_BYTES / 8;
  tree.leaves.forEach((leaf, i) => {
    t.i32[i * w + AT.start] = leaf.start;
    t.i32[i * w + AT.end] = leaf.end;
    t.f64[i * d + 8 + ATD.value] = leaf.value;
  });
  s.run(KIND_APPLY, tree.leaves.length);
}

/** The tree in bin form, for the rows outside its sample; returns its address. */
function writeWalkTree(s: GbtSession, tree: GrownTree): number {
  const nodes = tree.feature.length;
  const at = s.treeTable(nodes);
  const w = s.mem.i32(at, (nodes * NODE_BYTES) / 4);
  const v = s.mem.f64(at, (nodes * NODE_BYTES) / 8);
  for (let k = 0; k < nodes; k++) {
    const o = (k * NODE_BYTES) / 4;
    w[o] = tree.feature[k]!;
    w[o + 1] = tree.bin[k]!;
    w[o + 2] = tree.left[k]!;
    w[o + 3] = tree.right[k]!;
    w[o + 4] = tree.missingLeft[k]!;
    v[(k * NODE_BYTES) / 8 + 3] = tree.value[k]!;
  }
  return at;
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

function countMissing(col: Float64Array): number {
  let m = 0;
  for (let i = 0; i < col.length; i++) if (Number.isNaN(col[i]!)) m++;
  return m;
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
