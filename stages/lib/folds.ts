/**
 * Fold and split sizes with scikit-learn's conventions, so a Quiver pipeline and a notebook that
 * uses `KFold`, `StratifiedKFold` or `train_test_split` agree on how many rows land where.
 * The shuffling itself uses Quiver's seeded Rng: sizes and class counts match scikit-learn,
 * the particular rows chosen do not (numpy's RNG is not reproduced).
 */
import { StageError } from "../../core/stage.js";
import { Rng } from "./random.js";

/**
 * Fold index (0..k-1) for each of n rows, as scikit-learn's KFold(shuffle=True) / StratifiedKFold
 * sizes: the first n % k folds get one extra row; stratified: each class spread over folds as
 * StratifiedKFold does.
 */
export function kFoldAssignment(n: number, k: number, seed: number, stratifyBy?: Int32Array): Int32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`kFoldAssignment: bad row count ${n}`);
  if (!Number.isInteger(k) || k < 2)
    throw new StageError("QV_FOLDS", `the number of folds must be an integer of at least 2, got ${k}`);
  if (k > n)
    throw new StageError("QV_FOLDS", `cannot make ${k} folds from ${n} rows`, {
      hint: "use fewer folds or more rows",
    });
  const rng = new Rng(seed);
  if (stratifyBy === undefined) return plainFolds(n, k, rng);
  if (stratifyBy.length !== n)
    throw new RangeError(`kFoldAssignment: ${stratifyBy.length} class labels for ${n} rows`);
  return stratifiedFolds(stratifyBy, k, rng);
}

/** KFold(shuffle=True): shuffle the rows, then cut them into consecutive folds. */
function plainFolds(n: number, k: number, rng: Rng): Int32Array {
  const order = rng.permutation(n);
  const folds = new Int32Array(n);
  const base = Math.floor(n / k);
  const extra = n % k;
  let pos = 0;
  for (let f = 0; f < k; f++) {
    const size = base + (f < extra ? 1 : 0);
    for (let i = 0; i < size; i++) folds[order[pos++]!] = f;
  }
  return folds;
}

/**
 * Classes numbered by first appearance (as StratifiedKFold encodes them), with their counts and
 * the row → class index mapping.
 */
export function encodeClasses(labels: Int32Array): {
  classOf: Int32Array;
  values: number[];
  counts: number[];
} {
  const index = new Map<number, number>();
  const values: number[] = [];
  const counts: number[] = [];
  const classOf = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    let c = index.get(v);
    if (c === undefined) {
      c = values.length;
      index.set(v, c);
      values.push(v);
      counts.push(0);
    }
    counts[c]!++;
    classOf[i] = c;
  }
  return { classOf, values, counts };
}

/**
 * StratifiedKFold: rows sorted by class are dealt round-robin to the folds, which fixes how many
 * rows of each class every fold gets; within a class the fold labels are then shuffled.
 */
function stratifiedFolds(labels: Int32Array, k: number, rng: Rng): Int32Array {
  const { classOf, values, counts } = encodeClasses(labels);
  if (counts.every((c) => c < k))
    throw new StageError(
      "QV_FOLDS",
      `cannot stratify ${k} folds: every class has fewer than ${k} rows (counts ${counts.join(", ")})`,
      { hint: "use fewer folds" },
    );
  // Rows of class c occupy positions [start, start + count) of the class-sorted order; fold f
  // gets the positions p in that range with p % k === f.
  const foldLabels: Int32Array[] = [];
  let start = 0;
  for (let c = 0; c < values.length; c++) {
    const count = counts[c]!;
    const labelsForClass = new Int32Array(count);
    let j = 0;
    for (let f = 0; f < k; f++) {
      const first = start + ((f - (start % k) + k) % k);
      for (let p = first; p < start + count; p += k) labelsForClass[j++] = f;
    }
    rng.shuffle(labelsForClass);
    foldLabels.push(labelsForClass);
    start += count;
  }
  const folds = new Int32Array(labels.length);
  const next = new Int32Array(values.length);
  for (let i = 0; i < labels.length; i++) {
    const c = classOf[i]!;
    folds[i] = foldLabels[c]![next[c]!++]!;
  }
  return folds;
}

/**
 * Sizes as scikit-learn's train_test_split: n_test = ceil(test * n), n_train = floor(train * n)
 * (or n - n_test when train is not given).
 *
 * A value in (0, 1) is a fraction of n; an integer >= 1 is an absolute count (scikit-learn tells
 * the two apart by int/float type, which JSON and YAML numbers cannot carry, so 1 means one row).
 */
export function trainTestSizes(n: number, test: number, train?: number): { train: number; test: number } {
  const nTest = sizeOf(n, test, "test", Math.ceil);
  const nTrain = train === undefined ? n - nTest : sizeOf(n, train, "train", Math.floor);
  if (isFraction(test) && train !== undefined && isFraction(train) && train + test > 1)
    throw new StageError(
      "QV_SPLIT_SIZE",
      `the train fraction (${train}) and test fraction (${test}) add up to more than 1`,
    );
  if (nTrain + nTest > n)
    throw new StageError(
      "QV_SPLIT_SIZE",
      `a train size of ${nTrain} and a test size of ${nTest} need ${nTrain + nTest} rows, the table has ${n}`,
    );
  if (nTrain === 0)
    throw new StageError(
      "QV_SPLIT_SIZE",
      `with ${n} rows, test size ${test}${train === undefined ? "" : ` and train size ${train}`} leave no training rows`,
      { hint: "use a smaller test fraction or more rows" },
    );
  return { train: nTrain, test: nTest };
}

function isFraction(v: number): boolean {
  return v > 0 && v < 1;
}

/** One size as scikit-learn reads it: a fraction rounded with `round`, or a count below n. */
function sizeOf(n: number, v: number, what: string, round: (x: number) => number): number {
  if (isFraction(v)) return round(v * n);
  if (Number.isInteger(v) && v >= 1 && v < n) return v;
  if (Number.isInteger(v) && v >= 1)
    throw new StageError(
      "QV_SPLIT_SIZE",
      `a ${what} size of ${v} rows needs more than ${v} rows, the table has ${n}`,
    );
  throw new StageError(
    "QV_SPLIT_SIZE",
    `the ${what} size must be a fraction strictly between 0 and 1 or a whole number of rows, got ${v}`,
  );
}

/**
 * How many rows of each class a stratified draw of `nDraws` rows takes, as scikit-learn's
 * `_approximate_mode` (used by StratifiedShuffleSplit and so by train_test_split(stratify=)):
 * each class gets the floor of its proportional share, and the rows still missing go to the
 * classes with the largest remainders, ties broken at random.
 */
export function approximateMode(counts: readonly number[], nDraws: number, rng: Rng): number[] {
  return approximateModeWith(counts, nDraws, (inds, k) => {
    const shuffled = Int32Array.from(inds);
    rng.shuffle(shuffled);
    return shuffled.subarray(0, k);
  });
}

/**
 * `_approximate_mode` with the tie-break given: `pickTies(inds, k)` returns k of the class indices
 * `inds` (in increasing order) whose remainders tie. Quiver's generator shuffles them; NumPy mode
 * draws them as `rng.choice(inds, k, replace=False)` does (stages/lib/sampling/sklearn.ts).
 */
export function approximateModeWith(
  counts: readonly number[],
  nDraws: number,
  pickTies: (inds: readonly number[], k: number) => Iterable<number>,
): number[] {
  let total = 0;
  for (const c of counts) total += c;
  const continuous = counts.map((c) => (c / total) * nDraws);
  const floored = continuous.map(Math.floor);
  let need = nDraws - floored.reduce((a, b) => a + b, 0);
  if (need > 0) {
    const remainder = continuous.map((c, i) => c - floored[i]!);
    const values = [...new Set(remainder)].sort((a, b) => b - a);
    for (const value of values) {
      const inds = remainder.flatMap((r, i) => (r === value ? [i] : []));
      const addNow = Math.min(inds.length, need);
      for (const i of pickTies(inds, addNow)) floored[i]!++;
      need -= addNow;
      if (need === 0) break;
    }
  }
  return floored;
}
