/**
 * `kfold`'s fold assignment with `rng: numpy`: the test folds scikit-learn yields for
 * `KFold(n_splits=k, shuffle=True, random_state=R).split(X)` or, stratified,
 * `StratifiedKFold(n_splits=k, shuffle=True, random_state=R).split(X, y)`; fold i is the i-th
 * split's test rows. The checks are scikit-learn's: k ≤ n, and for strata at least one class with
 * k rows or more.
 */
import { StageError } from "../../../core/stage.js";
import { encodeClasses } from "../folds.js";
import type { NumpyRandomState } from "./random-state.js";
import { kFold, stratifiedKFold } from "./sklearn.js";

export function numpyFoldAssignment(
  n: number,
  k: number,
  rs: NumpyRandomState,
  stratifyBy: Int32Array | undefined,
): Int32Array {
  if (k > n)
    throw new StageError("QV_FOLDS", `cannot make ${k} folds from ${n} rows`, {
      hint: "use fewer folds or more rows",
    });
  if (stratifyBy === undefined) return kFold(n, k, rs);
  const { classOf, counts } = encodeClasses(stratifyBy);
  if (counts.every((c) => c < k))
    throw new StageError(
      "QV_FOLDS",
      `cannot stratify ${k} folds: every class has fewer than ${k} rows (counts ${counts.join(", ")})`,
      { hint: "use fewer folds" },
    );
  return stratifiedKFold(classOf, counts, k, rs);
}
