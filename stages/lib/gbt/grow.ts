/**
 * Grows one regression tree on gradient/hessian statistics, depth-wise, from bin codes.
 * Pure computation on typed arrays: no randomness, no I/O. The caller chooses the rows.
 */
import { BINS_PER_FEATURE, MISSING_BIN } from "./binning.js";

/** Slots per histogram bin: sum of gradients, sum of hessians, row count. */
const SLOTS = 3;
/** Smallest hessian sum allowed in a child (weights are normalised to mean 1), as scikit-learn's default. */
export const MIN_CHILD_HESSIAN = 1e-3;

export interface GrowInput {
  /** Column-major bin codes, feature f of row r at f * n + r. */
  readonly codes: Uint8Array;
  readonly n: number;
  /** Value bins per feature (edges + 1); 1 means the feature has a single value. */
  readonly numBins: Int32Array;
  /** 1 when a feature can be split on (two or more values, or a value and missing values). */
  readonly splittable: Uint8Array;
  /** The splittable features' indices: the only histograms built. */
  readonly histFeatures: Int32Array;
  /** Upper edges per feature, to turn a bin split into a raw-value threshold. */
  readonly edges: readonly Float64Array[];
  readonly grad: Float64Array;
  readonly hess: Float64Array;
  /** Rows of this tree, ascending; reordered in place (partitioned by node). */
  readonly rows: Int32Array;
  readonly maxDepth: number;
  readonly minExamples: number;
  readonly l2: number;
  readonly shrinkage: number;
}

/** A tree as growable arrays (a handful of nodes; packed into typed arrays by the caller). */
export interface GrownTree {
  /** Split feature, or -1 for a leaf. */
  feature: number[];
  /** Rows with value <= threshold go left. */
  threshold: number[];
  /** Bin form of the threshold: code <= bin goes left. */
  bin: number[];
  /** Child indices within the tree (0 for leaves). */
  left: number[];
  right: number[];
  /** 1 when missing values go left. */
  missingLeft: number[];
  /** Leaf output (already multiplied by the shrinkage); 0 for internal nodes. */
  value: number[];
}

interface Totals {
  grad: number;
  hess: number;
}

interface OpenNode {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly hist: Float64Array;
  readonly totals: Totals;
}

interface Split {
  feature: number;
  bin: number;
  missingLeft: boolean;
  gain: number;
}

export function growTree(input: GrowInput): GrownTree {
  const { rows, maxDepth } = input;
  const numFeatures = input.numBins.length;
  const tree: GrownTree = {
    feature: [],
    threshold: [],
    bin: [],
    left: [],
    right: [],
    missingLeft: [],
    value: [],
  };
  const newNode = (): number => {
    tree.feature.push(-1);
    tree.threshold.push(0);
    tree.bin.push(0);
    tree.left.push(0);
    tree.right.push(0);
    tree.missingLeft.push(0);
    tree.value.push(0);
    return tree.feature.length - 1;
  };
  const histSize = numFeatures * BINS_PER_FEATURE * SLOTS;
  const scratch = new Int32Array(rows.length);
  const orderedGrad = new Float64Array(rows.length);
  const orderedHess = new Float64Array(rows.length);

  const rootTotals: Totals = { grad: 0, hess: 0 };
  const rootHistSize = maxDepth > 1 ? histSize : 0; // a lone-leaf tree needs only the totals
  const rootHist = buildHistogram(input, 0, rows.length, rootHistSize, orderedGrad, orderedHess, rootTotals);
  let level: OpenNode[] = [
    { index: newNode(), start: 0, end: rows.length, hist: rootHist, totals: rootTotals },
  ];
  // Depth counts nodes on the path, as in TF Decision Forests: maxDepth 1 is a single leaf.
  for (let depth = 1; level.length > 0; depth++) {
    const next: OpenNode[] = [];
    for (const node of level) {
      const totals = node.totals;
      const split = depth < maxDepth ? bestSplit(input, node.hist, totals, node.end - node.start) : undefined;
      if (!split) {
        tree.value[node.index] = leafValue(totals.grad, totals.hess, input);
        continue;
      }
      const { feature, bin, missingLeft } = split;
      const edges = input.edges[feature]!;
      tree.feature[node.index] = feature;
      tree.bin[node.index] = bin;
      tree.threshold[node.index] = bin < edges.length ? edges[bin]! : Infinity;
      tree.missingLeft[node.index] = missingLeft ? 1 : 0;
      const mid = partition(input, node.start, node.end, feature, bin, missingLeft, scratch);
      const leftIndex = newNode();
      const rightIndex = newNode();
      tree.left[node.index] = leftIndex;
      tree.right[node.index] = rightIndex;
      // Subtraction trick: scan only the smaller child; the sibling is parent minus it.
      // Children at the depth limit become leaves and need only their totals.
      const childrenAreLeaves = depth + 1 >= maxDepth;
      const size = childrenAreLeaves ? 0 : histSize;
      const leftSmaller = mid - node.start <= node.end - mid;
      const smallTotals: Totals = { grad: 0, hess: 0 };
      const small = leftSmaller
        ? buildHistogram(input, node.start, mid, size, orderedGrad, orderedHess, smallTotals)
        : buildHistogram(input, mid, node.end, size, orderedGrad, orderedHess, smallTotals);
      const large = node.hist; // reused in place: the parent's histogram is no longer needed
      for (let i = 0; i < size; i++) large[i] = large[i]! - small[i]!;
      const largeTotals: Totals = {
        grad: totals.grad - smallTotals.grad,
        hess: totals.hess - smallTotals.hess,
      };
      next.push({
        index: leftIndex,
        start: node.start,
        end: mid,
        hist: leftSmaller ? small : large,
        totals: leftSmaller ? smallTotals : largeTotals,
      });
      next.push({
        index: rightIndex,
        start: mid,
        end: node.end,
        hist: leftSmaller ? large : small,
        totals: leftSmaller ? largeTotals : smallTotals,
      });
    }
    level = next;
  }
  return tree;
}

function buildHistogram(
  input: GrowInput,
  start: number,
  end: number,
  size: number,
  orderedGrad: Float64Array,
  orderedHess: Float64Array,
  totals: Totals,
): Float64Array {
  const { codes, n, rows, grad, hess } = input;
  const hist = new Float64Array(size);
  const count = end - start;
  let sumGrad = 0;
  let sumHess = 0;
  for (let k = 0; k < count; k++) {
    const r = rows[start + k]!;
    const g = grad[r]!;
    const h = hess[r]!;
    orderedGrad[k] = g;
    orderedHess[k] = h;
    sumGrad += g;
    sumHess += h;
  }
  totals.grad = sumGrad;
  totals.hess = sumHess;
  if (size === 0) return hist;
  const nodeRows = rows.subarray(start, end);
  const features = input.histFeatures;
  const view = (f: number) => codes.subarray(f * n, (f + 1) * n);
  const at = (f: number) => f * BINS_PER_FEATURE * SLOTS;
  // Four features per pass over the rows: the gradient streams are read a quarter as often,
  // which halves the time of this loop (it dominates training) on large tables.
  let i = 0;
  for (; i + 4 <= features.length; i += 4) {
    const c0 = view(features[i]!);
    const c1 = view(features[i + 1]!);
    const c2 = view(features[i + 2]!);
    const c3 = view(features[i + 3]!);
    const h0 = at(features[i]!);
    const h1 = at(features[i + 1]!);
    const h2 = at(features[i + 2]!);
    const h3 = at(features[i + 3]!);
    for (let k = 0; k < count; k++) {
      const r = nodeRows[k]!;
      const g = orderedGrad[k]!;
      const h = orderedHess[k]!;
      let o = h0 + c0[r]! * SLOTS;
      hist[o] = hist[o]! + g;
      hist[o + 1] = hist[o + 1]! + h;
      hist[o + 2] = hist[o + 2]! + 1;
      o = h1 + c1[r]! * SLOTS;
      hist[o] = hist[o]! + g;
      hist[o + 1] = hist[o + 1]! + h;
      hist[o + 2] = hist[o + 2]! + 1;
      o = h2 + c2[r]! * SLOTS;
      hist[o] = hist[o]! + g;
      hist[o + 1] = hist[o + 1]! + h;
      hist[o + 2] = hist[o + 2]! + 1;
      o = h3 + c3[r]! * SLOTS;
      hist[o] = hist[o]! + g;
      hist[o + 1] = hist[o + 1]! + h;
      hist[o + 2] = hist[o + 2]! + 1;
    }
  }
  for (; i < features.length; i++) {
    const c = view(features[i]!);
    const h0 = at(features[i]!);
    for (let k = 0; k < count; k++) {
      const o = h0 + c[nodeRows[k]!]! * SLOTS;
      hist[o] = hist[o]! + orderedGrad[k]!;
      hist[o + 1] = hist[o + 1]! + orderedHess[k]!;
      hist[o + 2] = hist[o + 2]! + 1;
    }
  }
  return hist;
}

/** Newton step of the binary log-loss, shrunk: -G / (H + l2) * shrinkage. */
function leafValue(grad: number, hess: number, input: GrowInput): number {
  const denom = hess + input.l2;
  return denom > 0 ? (-grad / denom) * input.shrinkage : 0;
}

/**
 * Best split of a node by the gain G_L^2/(H_L+l2) + G_R^2/(H_R+l2) - G^2/(H+l2), with at least
 * `minExamples` rows and MIN_CHILD_HESSIAN in each child. Bins 0..j go left; missing values go to
 * whichever side gains more (or, when the node has none, to the side with more rows). The first
 * feature and bin reaching the best gain wins, so ties resolve the same way every run.
 */
function bestSplit(input: GrowInput, hist: Float64Array, totals: Totals, count: number): Split | undefined {
  const { l2, minExamples } = input;
  if (count < 2 * minExamples) return undefined;
  const parentScore = (totals.grad * totals.grad) / (totals.hess + l2);
  let best: Split | undefined;
  let bestGain = 0;
  const numFeatures = input.numBins.length;
  for (let f = 0; f < numFeatures; f++) {
    if (input.splittable[f] === 0) continue;
    const h0 = f * BINS_PER_FEATURE * SLOTS;
    const mo = h0 + MISSING_BIN * SLOTS;
    const missGrad = hist[mo]!;
    const missHess = hist[mo + 1]!;
    const missCount = hist[mo + 2]!;
    const nb = input.numBins[f]!;
    // With missing values, "all values left, missing right" (bin nb-1) is a split too.
    const lastBin = missCount > 0 ? nb - 1 : nb - 2;
    let cumGrad = 0;
    let cumHess = 0;
    let cumCount = 0;
    for (let j = 0; j <= lastBin; j++) {
      const o = h0 + j * SLOTS;
      cumGrad += hist[o]!;
      cumHess += hist[o + 1]!;
      cumCount += hist[o + 2]!;
      if (missCount > 0) {
        // missing right
        const g1 = evalSplit(cumGrad, cumHess, cumCount, totals, count, minExamples, l2, parentScore);
        if (g1 > bestGain) {
          bestGain = g1;
          best = { feature: f, bin: j, missingLeft: false, gain: g1 };
        }
        if (j < nb - 1) {
          const g2 = evalSplit(
            cumGrad + missGrad,
            cumHess + missHess,
            cumCount + missCount,
            totals,
            count,
            minExamples,
            l2,
            parentScore,
          );
          if (g2 > bestGain) {
            bestGain = g2;
            best = { feature: f, bin: j, missingLeft: true, gain: g2 };
          }
        }
      } else {
        const g = evalSplit(cumGrad, cumHess, cumCount, totals, count, minExamples, l2, parentScore);
        if (g > bestGain) {
          bestGain = g;
          // No missing values here: send future ones to the side that saw more rows.
          best = { feature: f, bin: j, missingLeft: cumCount >= count - cumCount, gain: g };
        }
      }
    }
  }
  return best;
}

function evalSplit(
  leftGrad: number,
  leftHess: number,
  leftCount: number,
  totals: Totals,
  count: number,
  minExamples: number,
  l2: number,
  parentScore: number,
): number {
  const rightCount = count - leftCount;
  if (leftCount < minExamples || rightCount < minExamples) return -1;
  const rightHess = totals.hess - leftHess;
  if (leftHess < MIN_CHILD_HESSIAN || rightHess < MIN_CHILD_HESSIAN) return -1;
  const rightGrad = totals.grad - leftGrad;
  return (leftGrad * leftGrad) / (leftHess + l2) + (rightGrad * rightGrad) / (rightHess + l2) - parentScore;
}

/** Stable in-place partition of rows[start, end) by the split; returns where the right part begins. */
function partition(
  input: GrowInput,
  start: number,
  end: number,
  feature: number,
  bin: number,
  missingLeft: boolean,
  scratch: Int32Array,
): number {
  const { rows, codes, n } = input;
  const base = feature * n;
  let write = start;
  let spill = 0;
  for (let k = start; k < end; k++) {
    const r = rows[k]!;
    const c = codes[base + r]!;
    const goLeft = c === MISSING_BIN ? missingLeft : c <= bin;
    if (goLeft) rows[write++] = r;
    else scratch[spill++] = r;
  }
  rows.set(scratch.subarray(0, spill), write);
  return write;
}
