/**
 * Boosted trees as ONNX-ML: one `TreeEnsembleRegressor` (the sum of the trees' leaves plus the
 * base score, the raw margin) followed by `Sigmoid`, so the output is the probability of class 1.
 *
 * Thresholds. Quiver sends a row left when its float64 value x (after the model's preprocessing,
 * if it carries one) satisfies x ≤ t with a float64 threshold t; ONNX compares a float32 input with
 * a float32 threshold. For each split we write the float32 threshold T such that, for every
 * float32 input v, v ≤ T exactly when Quiver would send v left: the largest float32 v that
 * Quiver sends left (found by bisection over the float32 values in order, since Quiver's
 * preprocessing is non-decreasing). Without preprocessing that is t rounded down to float32 —
 * rounding to nearest could round up past t and send values in (t, T] the wrong way. A split no
 * present value takes left becomes `BRANCH_LT -∞` (never true).
 */
import type { FittedScaler } from "../scaler-artifact.js";
import { featureTransform } from "./scaler.js";
import { ML_DOMAIN, type OnnxGraph } from "./graph.js";

/** A forest as Quiver stores it (stages/lib/gbt): flat node arrays, `treeStart` per tree. */
export interface ForestArrays {
  readonly treeStart: ArrayLike<number>;
  readonly feature: ArrayLike<number>;
  readonly threshold: ArrayLike<number>;
  readonly left: ArrayLike<number>;
  readonly right: ArrayLike<number>;
  readonly missingLeft: ArrayLike<number>;
  readonly value: ArrayLike<number>;
  readonly baseScore: number;
}

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** Float32 values in increasing order ↔ integers in increasing order (−∞ … +∞, NaN excluded). */
function orderedKey(v: number): number {
  f32[0] = v;
  const b = i32[0]!;
  return b >= 0 ? b : -0x80000000 - b;
}
function fromOrderedKey(k: number): number {
  i32[0] = k >= 0 ? k : -0x80000000 - k;
  return f32[0]!;
}

export type SplitCondition =
  | { readonly mode: "BRANCH_LEQ"; readonly value: number }
  | { readonly mode: "BRANCH_LT"; readonly value: number };

/**
 * The float32 condition equivalent to Quiver's `transform(v) ≤ t` on every float32 v (`transform`
 * non-decreasing, e.g. the identity).
 */
export function float32Split(t: number, transform: (x: number) => number = (x) => x): SplitCondition {
  const left = (v: number) => transform(v) <= t;
  let lo = orderedKey(-Infinity);
  let hi = orderedKey(Infinity);
  if (!left(-Infinity)) return { mode: "BRANCH_LT", value: -Infinity };
  if (left(Infinity)) return { mode: "BRANCH_LEQ", value: Infinity };
  // Invariant: left(lo) holds, left(hi) does not.
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (left(fromOrderedKey(mid))) lo = mid;
    else hi = mid;
  }
  return { mode: "BRANCH_LEQ", value: fromOrderedKey(lo) };
}

export interface TreeExportOptions {
  /**
   * Checking aid: instead of the probability, output one column per tree holding the index
   * (within its tree) of the leaf the row reaches, so a test can compare every branch exactly.
   */
  readonly leafIndices?: boolean;
}

/** The trees' nodes on `input` ([N, features] float32, raw features); returns the probability tensor [N, 1]. */
export function forestNodes(
  g: OnnxGraph,
  input: string,
  forest: ForestArrays,
  features: readonly string[],
  preprocess: readonly FittedScaler[],
  opts: TreeExportOptions = {},
): string {
  const transforms = features.map((f) => featureTransform(preprocess, f));
  const numTrees = forest.treeStart.length - 1;
  const a = {
    treeids: [] as number[],
    nodeids: [] as number[],
    featureids: [] as number[],
    modes: [] as string[],
    values: [] as number[],
    truenodeids: [] as number[],
    falsenodeids: [] as number[],
    missingTracksTrue: [] as number[],
    targetTreeids: [] as number[],
    targetNodeids: [] as number[],
    targetIds: [] as number[],
    targetWeights: [] as number[],
  };
  for (let t = 0; t < numTrees; t++) {
    const start = forest.treeStart[t]!;
    const end = forest.treeStart[t + 1]!;
    for (let k = start; k < end; k++) {
      const id = k - start;
      const f = forest.feature[k]!;
      a.treeids.push(t);
      a.nodeids.push(id);
      if (f < 0) {
        a.featureids.push(0);
        a.modes.push("LEAF");
        a.values.push(0);
        a.truenodeids.push(0);
        a.falsenodeids.push(0);
        a.missingTracksTrue.push(0);
        a.targetTreeids.push(t);
        a.targetNodeids.push(id);
        a.targetIds.push(opts.leafIndices ? t : 0);
        a.targetWeights.push(opts.leafIndices ? id : forest.value[k]!);
        continue;
      }
      const split = float32Split(forest.threshold[k]!, transforms[f]);
      a.featureids.push(f);
      a.modes.push(split.mode);
      a.values.push(split.value);
      a.truenodeids.push(forest.left[k]!);
      a.falsenodeids.push(forest.right[k]!);
      a.missingTracksTrue.push(forest.missingLeft[k] === 1 ? 1 : 0);
    }
  }
  const margin = g.node(
    "TreeEnsembleRegressor",
    [input],
    {
      n_targets: { i: opts.leafIndices ? numTrees : 1 },
      aggregate_function: { s: "SUM" },
      post_transform: { s: "NONE" },
      base_values: { floats: opts.leafIndices ? new Array<number>(numTrees).fill(0) : [forest.baseScore] },
      nodes_treeids: { ints: a.treeids },
      nodes_nodeids: { ints: a.nodeids },
      nodes_featureids: { ints: a.featureids },
      nodes_modes: { strings: a.modes },
      nodes_values: { floats: a.values },
      nodes_truenodeids: { ints: a.truenodeids },
      nodes_falsenodeids: { ints: a.falsenodeids },
      nodes_missing_value_tracks_true: { ints: a.missingTracksTrue },
      target_treeids: { ints: a.targetTreeids },
      target_nodeids: { ints: a.targetNodeids },
      target_ids: { ints: a.targetIds },
      target_weights: { floats: a.targetWeights },
    },
    { domain: ML_DOMAIN },
  );
  return opts.leafIndices ? margin : g.node("Sigmoid", [margin]);
}
