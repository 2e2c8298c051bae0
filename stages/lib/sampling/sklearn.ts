/**
 * scikit-learn's row selection (1.2), drawn from a NumPy `RandomState` so that the indices are the
 * ones scikit-learn returns for the same `random_state`:
 *
 * - `train_test_split(..., shuffle=True)` without `stratify`: `ShuffleSplit`, i.e. one
 *   `permutation(n)`; test = its first n_test entries, train = the next n_train;
 * - with `stratify=y`: `StratifiedShuffleSplit`: classes in sorted order, `_approximate_mode` for the
 *   train counts and then the test counts, one `permutation` per class, then a `permutation` of the
 *   train rows and one of the test rows;
 * - `sklearn.utils.shuffle(X, random_state=r)`: `shuffle(arange(n))`;
 * - `KFold(k, shuffle=True)`: `shuffle(arange(n))`, cut into consecutive folds;
 * - `StratifiedKFold(k, shuffle=True)`: classes numbered by first appearance, fold sizes per class by
 *   dealing the class-sorted rows round robin, then one `shuffle` of each class's fold labels.
 *
 * Sizes and argument checks are the callers' (they match scikit-learn's); this file only draws.
 */
import { approximateModeWith } from "../folds.js";
import type { NumpyRandomState } from "./random-state.js";

/** `_approximate_mode(class_counts, n_draws, rng)`, ties broken with `rng.choice(inds, k, replace=False)`. */
export function approximateMode(counts: readonly number[], nDraws: number, rs: NumpyRandomState): number[] {
  return approximateModeWith(counts, nDraws, (inds, k) =>
    Array.from(rs.choice(inds.length, k, false), (j) => inds[j]!),
  );
}

export interface TrainTest {
  train: Int32Array;
  test: Int32Array;
}

/** `ShuffleSplit(test_size=nTest, train_size=nTrain)`: the first split. */
export function shuffleSplit(n: number, nTrain: number, nTest: number, rs: NumpyRandomState): TrainTest {
  const perm = rs.permutation(n);
  return { test: perm.slice(0, nTest), train: perm.slice(nTest, nTest + nTrain) };
}

/**
 * `StratifiedShuffleSplit(test_size=nTest, train_size=nTrain)`: the first split. `classOf[r]` is the
 * rank of row r's class among the sorted distinct classes (what `np.unique(y, return_inverse=True)`
 * gives); `nClasses` their number.
 */
export function stratifiedShuffleSplit(
  classOf: Int32Array,
  nClasses: number,
  nTrain: number,
  nTest: number,
  rs: NumpyRandomState,
): TrainTest {
  const counts = new Array<number>(nClasses).fill(0);
  for (let r = 0; r < classOf.length; r++) counts[classOf[r]!]!++;
  // Rows of each class in ascending order (a stable argsort of the class ranks).
  const rowsOf = counts.map((c) => new Int32Array(c));
  const fill = new Int32Array(nClasses);
  for (let r = 0; r < classOf.length; r++) {
    const c = classOf[r]!;
    rowsOf[c]![fill[c]!++] = r;
  }
  const nI = approximateMode(counts, nTrain, rs);
  const tI = approximateMode(
    counts.map((c, i) => c - nI[i]!),
    nTest,
    rs,
  );
  const train = new Int32Array(nTrain);
  const test = new Int32Array(nTest);
  let a = 0;
  let b = 0;
  for (let i = 0; i < nClasses; i++) {
    const perm = rs.permutation(counts[i]!);
    const rows = rowsOf[i]!;
    for (let k = 0; k < nI[i]!; k++) train[a++] = rows[perm[k]!]!;
    for (let k = nI[i]!; k < nI[i]! + tI[i]!; k++) test[b++] = rows[perm[k]!]!;
  }
  return { train: rs.permuted(train), test: rs.permuted(test) };
}

/** Fold index of each row as `KFold(k, shuffle=True)` yields its test folds (the i-th split tests fold i). */
export function kFold(n: number, k: number, rs: NumpyRandomState): Int32Array {
  const order = rs.permutation(n);
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
 * Fold index of each row as `StratifiedKFold(k, shuffle=True)._make_test_folds` assigns it.
 * `classOf[r]` numbers the classes by first appearance (0 = the class of row 0); `counts` are
 * their sizes.
 */
export function stratifiedKFold(
  classOf: Int32Array,
  counts: readonly number[],
  k: number,
  rs: NumpyRandomState,
): Int32Array {
  const nClasses = counts.length;
  // allocation[f][c]: rows of class c in fold f, from dealing the class-sorted rows round robin.
  const allocation = Array.from({ length: k }, () => new Array<number>(nClasses).fill(0));
  let pos = 0;
  for (let c = 0; c < nClasses; c++) for (let j = 0; j < counts[c]!; j++, pos++) allocation[pos % k]![c]!++;
  const labelsOf: Int32Array[] = [];
  for (let c = 0; c < nClasses; c++) {
    const labels = new Int32Array(counts[c]!);
    let j = 0;
    for (let f = 0; f < k; f++) for (let m = 0; m < allocation[f]![c]!; m++) labels[j++] = f;
    labelsOf.push(rs.shuffle(labels));
  }
  const folds = new Int32Array(classOf.length);
  const next = new Int32Array(nClasses);
  for (let r = 0; r < classOf.length; r++) {
    const c = classOf[r]!;
    folds[r] = labelsOf[c]![next[c]!++]!;
  }
  return folds;
}
