/**
 * The rows of `split` with `rng: numpy`, as the Python call named by `call:` selects them:
 *
 * - `train_test_split` (the default): `train_test_split(df, test_size=…, train_size=…,
 *   random_state=R, shuffle=…, stratify=df[col])`; the train and test rows in the order
 *   scikit-learn returns them;
 * - `shuffle`: `sklearn.utils.shuffle(df, random_state=R)` (one `RandomState(R).shuffle` of the
 *   row numbers), then consecutive slices: train `[:n_train]`, validation next, test next.
 *
 * With `shuffle: false` nothing is drawn: train is the first rows, then validation, then test, as
 * `train_test_split(shuffle=False)` and plain slicing both give.
 */
import { StageError, type ParamProblem } from "../../../core/stage.js";
import type { Table } from "../../../core/table.js";
import { classLabels } from "../columns.js";
import type { NumpyRandomState } from "./random-state.js";
import { shuffleSplit, stratifiedShuffleSplit } from "./sklearn.js";

export type SplitCall = "train_test_split" | "shuffle";

export interface SplitRows {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

/** What `call:` can reproduce: train_test_split has no validation split, sklearn.utils.shuffle no strata. */
export function checkNumpyCall(pr: {
  rng: string;
  call?: string;
  validation?: number;
  stratify?: string;
}): ParamProblem[] {
  if (pr.rng !== "numpy")
    return pr.call === undefined
      ? []
      : [
          {
            path: ["call"],
            code: "QV_PARAM_UNUSED",
            message: "call is read only with rng: numpy",
            severity: "warning",
          },
        ];
  const call = pr.call ?? "train_test_split";
  if (call === "train_test_split" && pr.validation !== undefined)
    return [
      {
        path: ["validation"],
        code: "QV_NUMPY_CALL",
        message: "train_test_split makes no validation split",
        hint: "use `call: shuffle` for sklearn.utils.shuffle then slices, or chain two split stages as two train_test_split calls",
      },
    ];
  if (call === "shuffle" && pr.stratify !== undefined)
    return [
      {
        path: ["stratify"],
        code: "QV_NUMPY_CALL",
        message: "sklearn.utils.shuffle does not stratify",
        hint: "use `call: train_test_split` (the default) for a stratified split",
      },
    ];
  return [];
}

export function numpySplitRows(
  t: Table,
  sizes: { train: number; validation: number; test: number },
  opts: { call: SplitCall; shuffle: boolean; stratify: string | undefined },
  rs: () => NumpyRandomState,
): SplitRows {
  const n = t.numRows;
  const a = sizes.train;
  const b = a + sizes.validation;
  if (!opts.shuffle) {
    const order = Int32Array.from({ length: n }, (_, i) => i);
    return { train: order.slice(0, a), validation: order.slice(a, b), test: order.slice(b, b + sizes.test) };
  }
  if (opts.call === "shuffle") {
    const order = rs().permutation(n);
    return { train: order.slice(0, a), validation: order.slice(a, b), test: order.slice(b, b + sizes.test) };
  }
  const none = new Int32Array(0);
  if (opts.stratify === undefined) {
    const { train, test } = shuffleSplit(n, sizes.train, sizes.test, rs());
    return { train, validation: none, test };
  }
  const { classOf, nClasses, counts } = sortedClassRanks(t, opts.stratify);
  const smallest = Math.min(...counts);
  if (smallest < 2)
    throw new StageError(
      "QV_SPLIT_STRATIFY",
      "the least populated class has only 1 row; stratifying needs at least 2 rows of every class",
      { param: ["stratify"] },
    );
  for (const port of ["train", "test"] as const)
    if (sizes[port] < nClasses)
      throw new StageError(
        "QV_SPLIT_STRATIFY",
        `the ${port} split has ${sizes[port]} rows, fewer than the ${nClasses} classes to stratify`,
        { param: [port] },
      );
  const { train, test } = stratifiedShuffleSplit(classOf, nClasses, sizes.train, sizes.test, rs());
  return { train, validation: none, test };
}

/**
 * Each row's class as its rank among the sorted distinct classes (numpy.unique's order: numbers
 * ascending, text by code point), with the class sizes.
 */
function sortedClassRanks(
  t: Table,
  column: string,
): { classOf: Int32Array; nClasses: number; counts: number[] } {
  const labels = classLabels(t, column, { what: "table", param: ["stratify"] });
  const col = t.columns.get(column);
  const codes = [...new Set(labels)];
  if (col?.type === "dict") {
    const text = (c: number) => col.dictionary[c] ?? "";
    codes.sort((x, y) => compareCodePoints(text(x), text(y)));
  } else codes.sort((x, y) => x - y);
  const rank = new Map(codes.map((c, i) => [c, i]));
  const classOf = new Int32Array(labels.length);
  const counts = new Array<number>(codes.length).fill(0);
  for (let r = 0; r < labels.length; r++) {
    const k = rank.get(labels[r]!)!;
    classOf[r] = k;
    counts[k]!++;
  }
  return { classOf, nClasses: codes.length, counts };
}

/** Python's str ordering: by Unicode code point (JS `<` compares UTF-16 units, which differs above U+FFFF). */
function compareCodePoints(x: string, y: string): number {
  const a = [...x];
  const b = [...y];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = a[i]!.codePointAt(0)! - b[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
