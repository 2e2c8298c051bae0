/** Epoch loop with Keras-style early stopping on top of MlpTrainer. */
import { deriveSeed } from "../../../core/seed.js";
import { MlpDataError } from "./spec.js";
import type { EpochStats, EvaluateResult, MlpData } from "./types.js";

/** What the epoch loop needs of a trainer (MlpTrainer is one). */
export interface EpochTrainer {
  trainEpoch(data: MlpData, batchSize: number, shuffleSeed: number | undefined): EpochStats;
  evaluate(data: MlpData): EvaluateResult;
  getWeights(): Float32Array[];
  setWeights(weights: readonly ArrayLike<number>[]): void;
}

export type Monitor = "val_loss" | "val_accuracy" | "loss" | "accuracy";

export interface FitOptions {
  epochs: number;
  batchSize: number;
  /** Seed of the per-epoch shuffles (epoch e uses deriveSeed(shuffleSeed, "epoch-e")). */
  shuffleSeed: number;
  validation?: MlpData;
  /**
   * Stop when the monitored quantity (default val_loss with validation data, else loss) has not
   * improved by more than minDelta for `patience` epochs.
   */
  earlyStopping?: { patience: number; minDelta?: number; restoreBestWeights?: boolean; monitor?: Monitor };
  /** Called after each epoch (for progress reporting). */
  onEpoch?: (epoch: number, train: EpochStats, validation: EvaluateResult | undefined) => void;
}

export interface FitHistory {
  loss: number[];
  accuracy: number[];
  valLoss: number[];
  valAccuracy: number[];
  /** 0-based epoch whose weights the model holds at the end (the best one when restored). */
  bestEpoch: number;
  stoppedEarly: boolean;
}

/** The epoch loop with early stopping (see MlpTrainer.fit). */
export function fitMlp(trainer: EpochTrainer, data: MlpData, opts: FitOptions): FitHistory {
  const history: FitHistory = {
    loss: [],
    accuracy: [],
    valLoss: [],
    valAccuracy: [],
    bestEpoch: -1,
    stoppedEarly: false,
  };
  const es = opts.earlyStopping;
  const monitor = es?.monitor ?? (opts.validation ? "val_loss" : "loss");
  if (monitor.startsWith("val_") && !opts.validation) {
    throw new MlpDataError(`early stopping monitors ${monitor} but no validation data was given`);
  }
  const sign = monitor.endsWith("accuracy") ? -1 : 1; // minimise sign * value
  let best = Infinity;
  let bestWeights: Float32Array[] | undefined;
  let wait = 0;
  for (let e = 0; e < opts.epochs; e++) {
    const train = trainer.trainEpoch(data, opts.batchSize, deriveSeed(opts.shuffleSeed, `epoch-${e}`));
    history.loss.push(train.loss);
    history.accuracy.push(train.accuracy);
    let val: EvaluateResult | undefined;
    if (opts.validation) {
      val = trainer.evaluate(opts.validation);
      history.valLoss.push(val.loss);
      history.valAccuracy.push(val.accuracy);
    }
    opts.onEpoch?.(e, train, val);
    const value = {
      loss: train.loss,
      accuracy: train.accuracy,
      val_loss: val?.loss ?? NaN,
      val_accuracy: val?.accuracy ?? NaN,
    }[monitor];
    if (sign * value < best - (es?.minDelta ?? 0)) {
      best = sign * value;
      history.bestEpoch = e;
      wait = 0;
      if (es && es.restoreBestWeights !== false) bestWeights = trainer.getWeights();
    } else if (es && ++wait >= es.patience) {
      history.stoppedEarly = true;
      break;
    }
  }
  if (es && es.restoreBestWeights !== false && bestWeights) trainer.setWeights(bestWeights);
  else history.bestEpoch = history.loss.length - 1;
  return history;
}
