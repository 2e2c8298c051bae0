/**
 * The boundary between the `train`/`predict` stages and the gradient-boosted-trees library.
 * The stages own tables, params and artifacts; the library sees only typed arrays.
 */
import type { ModelArtifact } from "../../../core/stage.js";

export interface GbtOptions {
  /** Number of boosting rounds (TF-DF `num_trees`). */
  readonly numTrees: number;
  readonly maxDepth: number;
  /** Minimum number of training rows in a leaf (TF-DF `min_examples`). */
  readonly minExamples: number;
  /** Row fraction drawn without replacement for each tree. */
  readonly subsample: number;
  /** Learning rate (TF-DF `shrinkage`). */
  readonly shrinkage: number;
  /** Histogram bins per feature (at most 255). */
  readonly maxBins: number;
  /** L2 regularisation on leaf values. */
  readonly l2: number;
}

export interface GbtTrainData {
  /** One Float64Array per feature, all of length n (NaN allowed: missing values). */
  readonly features: readonly Float64Array[];
  readonly featureNames: readonly string[];
  /** 0/1 labels. */
  readonly labels: Uint8Array;
  /** Per-event weights, or undefined for unweighted training. */
  readonly weights?: Float64Array;
}

/** How to run a training; never changes the model. */
export interface GbtRunOptions {
  /**
   * Threads it may use (default 1). Fewer are used when the data are too small for more to pay
   * off; the model is bit-identical for any count.
   */
  readonly threads?: number;
  /**
   * Keep per-bin row counts in the histograms even where they are not needed (see
   * `needsRowCounts` in train.ts): the model is the same either way, which the tests check.
   */
  readonly countRows?: boolean;
}

export interface GbtTrainResult {
  readonly model: ModelArtifact;
  /** One row per tree: training log-loss after adding it (weighted when weights are given). */
  readonly trainLoss: Float64Array;
  /** Threads the training ran on (for the run summary; the model does not depend on it). */
  readonly threads: number;
}

export type TrainGbt = (
  data: GbtTrainData,
  options: GbtOptions,
  seed: number,
  run?: GbtRunOptions,
) => GbtTrainResult;
/** Probability of class 1 for each row. */
export type PredictGbt = (model: ModelArtifact, features: readonly Float64Array[]) => Float64Array;
