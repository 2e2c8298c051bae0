/** What the trainer (trainer.ts) and its epoch loop (fit.ts) both speak of, kept apart so neither imports the other's module in a cycle. */

/** A data set copied into the trainer's memory (rows padded); free it with release(). */
export interface MlpData {
  readonly rows: number;
  /** Sum of the sample weights (rows when unweighted). */
  readonly weightSum: number;
  release(): void;
}

export interface EvaluateResult {
  /** Weighted mean loss (normalised as in training) plus the L2 term, as Keras reports it. */
  loss: number;
  /** Unweighted fraction of rows whose thresholded output (0.5) equals the label. */
  accuracy: number;
}

export interface EpochStats {
  /** Mean batch loss weighted by batch size, with the L2 term. */
  loss: number;
  /** Fraction of outputs classified right (threshold 0.5) during the epoch's training steps. */
  accuracy: number;
}
