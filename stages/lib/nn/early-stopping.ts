/**
 * Keras' EarlyStopping rules, shared by both trainers (tfjs and the wasm kernels) so they stop at
 * the same epoch for the same history: improvement means beating the best monitored value by more
 * than `min_delta`; after `patience` epochs without one, training stops.
 */
import type { EarlyStoppingSpec } from "./spec.js";

export type EpochVerdict = "improved" | "continue" | "stop";

export class EarlyStopping<W> {
  /** Monitored values are minimised as sign·value: accuracies count up, losses down. */
  private readonly sign: number;
  private best = Infinity;
  private wait = 0;
  bestEpoch = 0;
  stoppedEarly = false;
  /** The weights of the best epoch, kept only with restore_best. */
  bestWeights: W | undefined;

  constructor(
    private readonly es: EarlyStoppingSpec,
    private readonly epochs: number,
  ) {
    this.sign = es.monitor.endsWith("accuracy") ? -1 : 1;
  }

  /** Records an epoch's metrics; `weights` is called only when they must be kept. */
  observe(
    epoch: number,
    values: Record<EarlyStoppingSpec["monitor"], number>,
    weights: () => W,
  ): EpochVerdict {
    const current = this.sign * values[this.es.monitor];
    if (current < this.best - this.es.min_delta) {
      this.best = current;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.es.restore_best) this.bestWeights = weights();
      return "improved";
    }
    if (++this.wait > this.es.patience - 1 && epoch > 1) {
      this.stoppedEarly = epoch < this.epochs;
      return "stop";
    }
    return "continue";
  }

  /**
   * Ends training: with restore_best, puts back the best epoch's weights when that was not the last
   * epoch run. Returns the epoch whose weights the model ends with.
   */
  finish(epochsRun: number, setWeights: (w: W) => void): { restored: boolean; finalEpoch: number } {
    if (this.es.restore_best && this.bestWeights !== undefined && this.bestEpoch !== epochsRun) {
      setWeights(this.bestWeights);
      return { restored: true, finalEpoch: this.bestEpoch };
    }
    return { restored: false, finalEpoch: epochsRun };
  }
}
