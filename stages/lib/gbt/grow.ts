/**
 * Grows one regression tree on gradient/hessian statistics, depth-wise, level by level: per level
 * one split-apply job (splits whose children both end as leaves: their values go straight to the
 * rows' scores), one partition job (the rows of the other splitting nodes, partition.ts) and the
 * histogram jobs (the smaller child of each split built from its rows, the larger one by
 * subtracting it from the parent, then the best split of each child on each feature). The rows of
 * the tree and their (gradient, hessian) pairs are already in the session's memory. No randomness,
 * no I/O.
 */
import {
  BT,
  histBlockRows,
  HT,
  HTD,
  KIND_HIST_BUILD,
  KIND_HISTOGRAMS,
  KIND_SPLIT_APPLY,
  PT,
  PTD,
  ROOT_COUNTS_REUSE,
  SPLIT_BYTES,
  TASK_BYTES,
} from "./layout.js";
import { partitionRows } from "./partition.js";
import type { GbtSession } from "./session.js";

/** Smallest hessian sum allowed in a child (weights are normalised to mean 1), as scikit-learn's default. */
export const MIN_CHILD_HESSIAN = 1e-3;

export interface TreeOptions {
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
  /**
   * Leaves whose values are still to be added to their rows' scores (a range of the session's row
   * array each); the children of a split with two leaves are added while growing.
   */
  leaves: { start: number; end: number; value: number }[];
}

interface Node {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly g: number;
  readonly h: number;
  /** Its histograms (0: none). */
  slot: number;
  /** Its row in the split table (-1: not scanned, it will be a leaf). */
  out: number;
}

interface Split {
  readonly node: Node;
  readonly column: number;
  readonly bin: number;
  readonly missingLeft: boolean;
  /**
   * Gradient and hessian sums and row count of the left child (from the histogram; the count is
   * -1 when the histograms keep no counts, and known once the rows are partitioned).
   */
  readonly leftG: number;
  readonly leftH: number;
  readonly leftCount: number;
}

export function growTree(
  s: GbtSession,
  opts: TreeOptions,
  edges: readonly Float64Array[],
  histCols: Int32Array,
  sampleSize: number,
  rootG: number,
  rootH: number,
  /** How the root's row counts are obtained (0: counted; ROOT_COUNTS_SAVE / _REUSE). */
  rootCounts: number,
): GrownTree {
  const tree: GrownTree = {
    feature: [],
    threshold: [],
    bin: [],
    left: [],
    right: [],
    missingLeft: [],
    value: [],
    leaves: [],
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
  // Depth counts nodes on the path, as in TF Decision Forests: maxDepth 1 is a single leaf.
  const mayScan = (depth: number, count: number): boolean =>
    depth < opts.maxDepth && count >= 2 * opts.minExamples;
  // Both children of a split end as leaves. Without row counts (train.ts `needsRowCounts`:
  // minExamples is 1 and each child has a row), that is at the depth limit or when each child
  // has one row.
  const childrenAreLeaves = (depth: number, sp: Split): boolean => {
    const rows = sp.node.end - sp.node.start;
    if (sp.leftCount < 0) return depth + 1 >= opts.maxDepth || rows <= 2;
    return !mayScan(depth + 1, sp.leftCount) && !mayScan(depth + 1, rows - sp.leftCount);
  };
  // Where missing values go at a node that had none, when the histograms keep no counts (the
  // scan's rule, with the left count the rows give): to the side with more rows.
  const missingToLarger = (sp: Split, leftRows: number): void => {
    const rows = sp.node.end - sp.node.start;
    tree.missingLeft[sp.node.index] = leftRows >= rows - leftRows ? 1 : 0;
  };

  const root: Node = { index: newNode(), start: 0, end: sampleSize, g: rootG, h: rootH, slot: 0, out: -1 };
  if (mayScan(1, sampleSize)) {
    root.slot = s.allocSlot();
    root.out = 0;
    histogramJob(s, [{ small: root, large: undefined, parentSlot: 0 }], 1, rootCounts);
  }
  let level: Node[] = [root];
  for (let depth = 1; level.length > 0; depth++) {
    const splits: Split[] = [];
    for (const node of level) {
      const split = node.out >= 0 ? bestSplit(s, node, histCols) : undefined;
      if (split) {
        splits.push(split);
        const f = split.column;
        const e = edges[f]!;
        tree.feature[node.index] = f;
        tree.bin[node.index] = split.bin;
        tree.threshold[node.index] = split.bin < e.length ? e[split.bin]! : Infinity;
        tree.missingLeft[node.index] = split.missingLeft ? 1 : 0;
      } else {
        const value = leafValue(node.g, node.h, opts);
        tree.value[node.index] = value;
        tree.leaves.push({ start: node.start, end: node.end, value });
        if (node.slot !== 0) s.freeSlot(node.slot);
      }
    }
    if (splits.length === 0) break;

    // A split whose children both end as leaves needs no partition: one pass adds the children's
    // values to the scores of the node's rows.
    const direct: Split[] = [];
    const partitioned: Split[] = [];
    for (const sp of splits) (childrenAreLeaves(depth, sp) ? direct : partitioned).push(sp);
    if (direct.length > 0) {
      const leftRows = splitApply(s, tree, direct, newNode, opts);
      if (!s.countRows) direct.forEach((sp, i) => missingToLarger(sp, leftRows[i]!));
    }
    if (partitioned.length === 0) break;

    const mids = partitionRows(
      s,
      partitioned.map((sp) => ({
        start: sp.node.start,
        end: sp.node.end,
        column: sp.column,
        bin: sp.bin,
        missingLeft: sp.missingLeft,
      })),
    );

    const next: Node[] = [];
    const builds: HistBuild[] = [];
    let outRows = 0;
    partitioned.forEach((sp, i) => {
      const node = sp.node;
      const mid = mids[i]!;
      if (!s.countRows) missingToLarger(sp, mid - node.start);
      // Child totals as scikit-learn takes them: the left side's from the histogram scan, the
      // right side's as the parent's minus it.
      const left: Node = {
        index: newNode(),
        start: node.start,
        end: mid,
        g: sp.leftG,
        h: sp.leftH,
        slot: 0,
        out: -1,
      };
      const right: Node = {
        index: newNode(),
        start: mid,
        end: node.end,
        g: node.g - sp.leftG,
        h: node.h - sp.leftH,
        slot: 0,
        out: -1,
      };
      tree.left[node.index] = left.index;
      tree.right[node.index] = right.index;
      next.push(left, right);
      // Scan only the smaller child's rows; the sibling's histograms are the parent's minus it.
      const leftSmaller = mid - node.start <= node.end - mid;
      const small = leftSmaller ? left : right;
      const large = leftSmaller ? right : left;
      const scanSmall = mayScan(depth + 1, small.end - small.start);
      const scanLarge = mayScan(depth + 1, large.end - large.start);
      if (!scanSmall && !scanLarge) {
        s.freeSlot(node.slot);
        return;
      }
      small.slot = s.allocSlot();
      if (scanSmall) small.out = outRows++;
      if (scanLarge) {
        large.slot = node.slot;
        large.out = outRows++;
      }
      builds.push({ small, large: scanLarge ? large : undefined, parentSlot: scanLarge ? 0 : node.slot });
    });
    if (builds.length > 0) {
      histogramJob(s, builds, outRows, 0);
      for (const b of builds) {
        if (b.small.out < 0) {
          s.freeSlot(b.small.slot);
          b.small.slot = 0;
        }
        if (b.parentSlot !== 0) s.freeSlot(b.parentSlot);
      }
    }
    level = next;
  }
  return tree;
}

interface HistBuild {
  /** The child whose histograms are built from its rows (into its slot). */
  readonly small: Node;
  /** The child that takes over the parent's slot by subtraction, when it will be scanned. */
  readonly large: Node | undefined;
  /** The parent's slot when no child takes it over (freed after the job). */
  readonly parentSlot: number;
}

/**
 * Two jobs. Building: one task per block of `histBlockRows(n)` rows of each smaller child, into the
 * child's slot (one block) or a partial slot (several). Then one task per (build, range of
 * features): partial histograms added in block order, the larger child's by subtraction, the
 * split scans. Block sizes depend on n only and ranges of features never change a result, so the
 * histograms are the same for any thread count; with several threads and few nodes, each node's
 * features are split into ranges so that every thread has work in the second job.
 */
function histogramJob(
  s: GbtSession,
  builds: readonly HistBuild[],
  outRows: number,
  rootCounts: number,
): void {
  const numHist = s.numHist;
  const w = TASK_BYTES / 4;
  const d = TASK_BYTES / 8;
  const blockRows = histBlockRows(s.n);
  const blocksOf = (b: HistBuild) => Math.ceil((b.small.end - b.small.start) / blockRows);
  let buildTasks = 0;
  let partialCount = 0;
  for (const b of builds) {
    const blocks = blocksOf(b);
    buildTasks += blocks;
    if (blocks > 1) partialCount += blocks;
  }
  const threads = s.threadCount;
  // Too few blocks to keep every thread busy (small data): split each block's features into
  // ranges too. Each (block, feature) histogram is still summed by one task in row order.
  const featureRanges =
    threads > 1 && buildTasks < 2 * threads
      ? Math.min(Math.ceil(numHist / 2), Math.ceil((2 * threads) / buildTasks))
      : 1;
  const partialTable = s.partialTable(partialCount);
  const partials: number[] = [];
  const first: number[] = []; // index of each build's first partial slot
  // (start, end, slot, f0, f1) per task; written largest first below.
  const order: number[][] = [];
  for (const b of builds) {
    const blocks = blocksOf(b);
    first.push(partials.length);
    for (let k = 0; k < blocks; k++) {
      const slot = blocks === 1 ? b.small.slot : s.allocSlot();
      if (blocks > 1) partials.push(slot);
      const start = b.small.start + k * blockRows;
      const end = Math.min(b.small.end, b.small.start + (k + 1) * blockRows);
      for (let c = 0; c < featureRanges; c++) {
        const f0 = Math.floor((c * numHist) / featureRanges);
        const f1 = Math.floor(((c + 1) * numHist) / featureRanges);
        order.push([start, end, slot, f0, f1]);
      }
    }
  }
  // Threads claim tasks in order, so the largest go first (a small one last evens out the end of
  // the job); every task writes its own slot, so the order never changes a result.
  order.sort((p, q) => (q[1]! - q[0]!) * (q[4]! - q[3]!) - (p[1]! - p[0]!) * (p[4]! - p[3]!));
  const bt = s.tasks(order.length);
  const counted = s.countRows && rootCounts !== ROOT_COUNTS_REUSE ? 1 : 0;
  order.forEach(([start, end, slot, f0, f1], i) => {
    bt.i32[i * w + BT.start] = start!;
    bt.i32[i * w + BT.end] = end!;
    bt.i32[i * w + BT.slot] = slot!;
    bt.i32[i * w + BT.counted] = counted;
    bt.i32[i * w + BT.f0] = f0!;
    bt.i32[i * w + BT.f1] = f1!;
  });
  s.mem.i32(partialTable, partials.length).set(partials);
  s.run(KIND_HIST_BUILD, order.length);

  const chunks =
    threads === 1
      ? 1
      : Math.max(1, Math.min(Math.ceil(numHist / 2), Math.ceil((4 * threads) / builds.length)));
  s.splitTable(outRows);
  const t = s.tasks(builds.length * chunks);
  let i = 0;
  builds.forEach((b, j) => {
    const blocks = blocksOf(b);
    for (let c = 0; c < chunks; c++, i++) {
      const o = i * w;
      t.i32[o + HT.start] = b.small.start;
      t.i32[o + HT.end] = b.small.end;
      t.i32[o + HT.smallSlot] = b.small.slot;
      t.i32[o + HT.largeSlot] = b.large ? b.large.slot : 0;
      t.i32[o + HT.f0] = Math.floor((c * numHist) / chunks);
      t.i32[o + HT.f1] = Math.floor(((c + 1) * numHist) / chunks);
      t.i32[o + HT.smallOut] = b.small.out;
      t.i32[o + HT.largeOut] = b.large ? b.large.out : -1;
      t.i32[o + HT.smallCount] = b.small.end - b.small.start;
      t.i32[o + HT.largeCount] = b.large ? b.large.end - b.large.start : 0;
      t.i32[o + HT.rootCounts] = rootCounts;
      t.i32[o + HT.partials] = blocks > 1 ? partialTable + 4 * first[j]! : 0;
      t.i32[o + HT.partialCount] = blocks > 1 ? blocks : 0;
      const od = i * d + 8;
      t.f64[od + HTD.smallG] = b.small.g;
      t.f64[od + HTD.smallH] = b.small.h;
      t.f64[od + HTD.largeG] = b.large ? b.large.g : 0;
      t.f64[od + HTD.largeH] = b.large ? b.large.h : 0;
    }
  });
  s.run(KIND_HISTOGRAMS, i);
  for (const slot of partials) s.freeSlot(slot);
}

/**
 * The best of the node's per-feature candidates: the largest gain above 0, the first feature
 * reaching it on ties (each feature's candidate is already its first bin reaching its best).
 */
function bestSplit(s: GbtSession, node: Node, histCols: Int32Array): Split | undefined {
  const numHist = s.numHist;
  const base = s.splitTable(0) + node.out * numHist * SPLIT_BYTES;
  const f64 = s.mem.f64(base, (numHist * SPLIT_BYTES) / 8);
  const words = s.mem.i32(base, (numHist * SPLIT_BYTES) / 4);
  const w = SPLIT_BYTES / 4;
  const d = SPLIT_BYTES / 8;
  let best = -1;
  let bestGain = 0;
  for (let j = 0; j < numHist; j++) {
    const g = f64[d * j]!;
    if (g > bestGain) {
      bestGain = g;
      best = j;
    }
  }
  if (best < 0) return undefined;
  return {
    node,
    column: histCols[best]!,
    bin: words[w * best + 2]!,
    missingLeft: words[w * best + 3] === 1,
    leftG: f64[d * best + 2]!,
    leftH: f64[d * best + 3]!,
    leftCount: s.countRows ? words[w * best + 8]! : -1,
  };
}

/**
 * Children of these splits become leaves; their values go straight to the rows' scores. Returns
 * each split's left row count.
 */
function splitApply(
  s: GbtSession,
  tree: GrownTree,
  splits: readonly Split[],
  newNode: () => number,
  opts: TreeOptions,
): Int32Array {
  const t = s.tasks(splits.length);
  const w = TASK_BYTES / 4;
  const d = TASK_BYTES / 8;
  splits.forEach((sp, i) => {
    const node = sp.node;
    const left = newNode();
    const right = newNode();
    tree.left[node.index] = left;
    tree.right[node.index] = right;
    tree.value[left] = leafValue(sp.leftG, sp.leftH, opts);
    tree.value[right] = leafValue(node.g - sp.leftG, node.h - sp.leftH, opts);
    if (node.slot !== 0) s.freeSlot(node.slot);
    t.i32[i * w + PT.start] = node.start;
    t.i32[i * w + PT.end] = node.end;
    t.i32[i * w + PT.col] = sp.column;
    t.i32[i * w + PT.bin] = sp.bin;
    t.i32[i * w + PT.missingLeft] = sp.missingLeft ? 1 : 0;
    t.f64[i * d + 8 + PTD.leftValue] = tree.value[left]!;
    t.f64[i * d + 8 + PTD.rightValue] = tree.value[right]!;
  });
  s.run(KIND_SPLIT_APPLY, splits.length);
  return Int32Array.from(splits, (_, i) => t.i32[i * w + PT.mid]!);
}

/** Newton step of the binary log-loss, shrunk: -G / (H + l2) * shrinkage. */
export function leafValue(g: number, h: number, opts: TreeOptions): number {
  const denom = h + opts.l2;
  return denom > 0 ? (-g / denom) * opts.shrinkage : 0;
}
