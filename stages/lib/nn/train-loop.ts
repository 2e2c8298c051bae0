/**
 * The training loop for networks. tfjs' `fit` takes no per-sample weights in Node and has no
 * restore-best early stopping, so this loop is Quiver's own, around `tf.variableGrads` and the
 * optimizer's `applyGradients`. Keras semantics are the default everywhere (docs/training.md):
 *
 * - loss of a batch = Σ wᵢℓᵢ / N_batch (Keras "sum_over_batch_size"), or Σ wᵢℓᵢ / Σ wᵢ with
 *   `loss_normalization: sum_of_weights`; plus λ·Σ kernel² when `l2` is set;
 * - the epoch's `loss`/`accuracy` are running means over its batches (dropout active), `val_*`
 *   are computed after the epoch in inference mode;
 * - AdamW decays every variable by (1 - lr·wd) before the Adam step, as Keras' AdamW.
 *
 * Determinism: kernels, the shuffling order and dropout masks all come from Rng streams derived
 * from the seed, so one seed on one backend gives the same bytes.
 */
import { EarlyStopping } from "./early-stopping.js";
import type { JsonObject } from "../../../core/json.js";
import { StageError } from "../../../core/stage.js";
import { Rng } from "../random.js";
import { deriveSeed } from "../../../core/seed.js";
import { loadTf, type BackendChoice, type Tf } from "./backend.js";
import { fitNormalization, rowMajor, type Normalization } from "./data.js";
import type { LabeledData } from "../labeled.js";
import { accuracy, bceOfLogit, weightedMean } from "./metrics.js";
import { weightedAuc } from "../eval/auc.js";
import {
  buildNet,
  countParameters,
  forwardLogits,
  predictLogits,
  saveNet,
  sigmoid,
  type SavedNet,
} from "./network.js";
import { layerKind, optimizerOf, type NnSpec } from "./spec.js";

type Tensor = import("@tensorflow/tfjs").Tensor;
type Scalar = import("@tensorflow/tfjs").Scalar;
type Variable = import("@tensorflow/tfjs").Variable;
type LayersModel = import("@tensorflow/tfjs").LayersModel;
type Optimizer = import("@tensorflow/tfjs").Optimizer;

export interface NnTrainRequest {
  readonly spec: NnSpec;
  readonly train: LabeledData;
  readonly validation?: LabeledData | undefined;
  readonly seed: number;
  readonly backend: BackendChoice;
  readonly progress?: (fraction: number, line: string) => void;
  readonly signal?: AbortSignal;
}

export interface History {
  readonly epoch: Int32Array;
  readonly loss: Float64Array;
  readonly accuracy: Float64Array;
  readonly val_loss: Float64Array;
  readonly val_accuracy: Float64Array;
  /** Wall-clock seconds of the epoch (training and validation): run summary only, not the history table. */
  readonly time: Float64Array;
}

export interface NnTrainResult {
  readonly saved: SavedNet;
  /** Wall-clock seconds of the whole training (for the run summary, never for artifacts). */
  readonly seconds: number;
  readonly normalization: Normalization | undefined;
  readonly backend: string;
  readonly tfjsVersion: string;
  readonly history: History;
  readonly metrics: JsonObject;
}

/**
 * Weighted binary cross-entropy from logits: Σ wᵢ·ℓᵢ with ℓ = max(z,0) - z·y + log(1+e^-|z|).
 * The caller folds the normalisation (1/N or 1/Σw) into `w`.
 */
export function weightedBceFromLogits(tf: Tf, z: Tensor, y: Tensor, w: Tensor): Scalar {
  const l = tf
    .relu(z)
    .sub(z.mul(y))
    .add(tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
  return l.mul(w).sum();
}

function makeOptimizer(tf: Tf, spec: NnSpec): Optimizer {
  const o = optimizerOf(spec.optimizer);
  switch (o.name) {
    case "adam":
    case "adamw":
      return tf.train.adam(o.lr, o.beta1, o.beta2, o.epsilon);
    case "sgd":
      return o.momentum > 0 ? tf.train.momentum(o.lr, o.momentum, o.nesterov) : tf.train.sgd(o.lr);
    default: {
      const never: never = o;
      throw new Error(`unknown optimizer ${JSON.stringify(never)}`);
    }
  }
}

/** Loss (weighted as in training, plus the L2 penalty), accuracy and AUC of a set of logits. */
export function evaluateLogits(
  z: Float64Array,
  data: LabeledData,
  normalization: NnSpec["loss_normalization"],
  penalty: number,
): { loss: number; accuracy: number; auc: number } {
  const losses = new Float64Array(data.n);
  const prob = new Float64Array(data.n);
  for (let i = 0; i < data.n; i++) {
    losses[i] = bceOfLogit(z[i]!, data.labels[i]!);
    prob[i] = sigmoid(z[i]!);
  }
  return {
    loss: weightedMean(losses, data.weights, normalization) + penalty,
    accuracy: accuracy(prob, data.labels),
    auc: weightedAuc(prob, data.labels, data.weights),
  };
}

function l2Penalty(tf: Tf, kernels: readonly Variable[], l2: number): number {
  if (l2 === 0) return 0;
  return tf.tidy(() => kernels.reduce((acc, k) => acc + tf.sum(tf.square(k)).dataSync()[0]!, 0)) * l2;
}

/**
 * The one progress line per epoch both trainers print: loss, val_loss, the epoch's time and an ETA
 * from the mean epoch time so far.
 */
export function reportEpoch(
  progress: ((fraction: number, line: string) => void) | undefined,
  epoch: number,
  epochs: number,
  loss: number,
  valLoss: number | undefined,
  seconds: number,
  startedAt: number,
): void {
  if (!progress) return;
  const elapsed = (performance.now() - startedAt) / 1000;
  const eta = (elapsed / epoch) * (epochs - epoch);
  progress(
    epoch / epochs,
    `epoch ${epoch}/${epochs}  loss ${loss.toFixed(5)}` +
      (valLoss !== undefined ? `  val_loss ${valLoss.toFixed(5)}` : "") +
      `  ${seconds.toFixed(2)} s  ETA ${fmtSeconds(eta)}`,
  );
}

function fmtSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}m ${Math.round(s - 60 * m)}s`;
}

/** Requests either trainer refuses before starting: they are the user's spec or data. */
export function checkNnRequest(spec: NnSpec, train: LabeledData, validation: LabeledData | undefined): void {
  const es = spec.early_stopping;
  if (es && es.monitor.startsWith("val_") && !validation)
    throw new StageError(
      "QV_NN_NO_VALIDATION",
      `early stopping monitors ${es.monitor} but no validation table is connected`,
      {
        param: ["model", "early_stopping", "monitor"],
        hint: "connect a `validation` input, or monitor loss",
      },
    );
  if (spec.loss_normalization === "sum_of_weights" && train.weights) {
    const sw = train.weights.reduce((a, b) => a + b, 0);
    if (!(sw > 0))
      throw new StageError(
        "QV_NN_WEIGHT",
        `the training weights sum to ${sw}; sum_of_weights needs a positive sum`,
        {
          param: ["model", "loss_normalization"],
        },
      );
  }
}

export async function trainNn(req: NnTrainRequest): Promise<NnTrainResult> {
  const { spec, train, validation } = req;
  const es = spec.early_stopping;
  checkNnRequest(spec, train, validation);
  const { tf, backend, version } = await loadTf(req.backend);
  const d = train.features.length;
  const n = train.n;
  const norm = spec.normalization ? fitNormalization(train.features) : undefined;
  const xTrain = rowMajor(train.features, n, norm);
  const xVal = validation ? rowMajor(validation.features, validation.n, norm) : undefined;

  const model = buildNet(tf, spec, d, req.seed);
  const optimizer = makeOptimizer(tf, spec);
  const opt = optimizerOf(spec.optimizer);
  const decay = opt.name === "adamw" ? 1 - opt.lr * opt.weightDecay : 1;
  const vars = model.trainableWeights.map((w) => w.read() as Variable);
  const kernels = model.layers
    .filter((l) => l.getClassName() === "Dense")
    .map((l) => l.trainableWeights[0]!.read() as Variable);

  // Dropout layers and the width of what they drop (for the masks).
  const dropouts: { index: number; rate: number; width: number }[] = [];
  let width = d;
  spec.layers.forEach((l, i) => {
    const k = layerKind(l);
    if (k.kind === "dense") width = k.units;
    else if (k.kind === "dropout" && k.rate > 0) dropouts.push({ index: i, rate: k.rate, width });
  });

  const batch = Math.min(spec.batch_size, n);
  const shuffleRng = new Rng(deriveSeed(req.seed, "shuffle"));
  const dropoutRng = new Rng(deriveSeed(req.seed, "dropout"));
  const xb = new Float32Array(batch * d);
  const yb = new Float32Array(batch);
  const wb = new Float32Array(batch);
  const hist = {
    epoch: [] as number[],
    loss: [] as number[],
    accuracy: [] as number[],
    val_loss: [] as number[],
    val_accuracy: [] as number[],
    time: [] as number[],
  };

  const stopper = es ? new EarlyStopping<Tensor[]>(es, spec.epochs) : undefined;
  const t0 = performance.now();
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;

  try {
    for (let epoch = 1; epoch <= spec.epochs; epoch++) {
      if (req.signal?.aborted) throw new Error("training aborted");
      const te = performance.now();
      if (spec.shuffle) shuffleRng.shuffle(order);
      let lossSum = 0;
      let correct = 0;
      for (let start = 0; start < n; start += batch) {
        const m = Math.min(batch, n - start);
        let sw = 0;
        for (let r = 0; r < m; r++) {
          const row = order[start + r]!;
          xb.set(xTrain.subarray(row * d, row * d + d), r * d);
          yb[r] = train.labels[row]!;
          const w = train.weights ? train.weights[row]! : 1;
          wb[r] = w;
          sw += w;
        }
        const scale = spec.loss_normalization === "batch_size" || !train.weights ? 1 / m : 1 / sw;
        for (let r = 0; r < m; r++) wb[r] = wb[r]! * scale;
        const masks = dropouts.map(({ rate, width: w }) => {
          const mask = new Float32Array(m * w);
          const keep = 1 / (1 - rate);
          for (let j = 0; j < mask.length; j++) mask[j] = dropoutRng.uniform() < rate ? 0 : keep;
          return mask;
        });
        const { lossValue, logits } = tf.tidy(() => {
          const x = tf.tensor2d(xb.subarray(0, m * d), [m, d]);
          const y = tf.tensor2d(yb.subarray(0, m), [m, 1]);
          const w = tf.tensor2d(wb.subarray(0, m), [m, 1]);
          const maskTensors = new Map(
            dropouts.map((dr, j) => [dr.index, tf.tensor2d(masks[j]!, [m, dr.width])]),
          );
          let kept: Tensor | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const z = forwardLogits(model, x, true, maskTensors);
            kept = tf.keep(z);
            let loss = weightedBceFromLogits(tf, z, y, w);
            if (spec.l2 > 0) loss = loss.add(tf.addN(kernels.map((k) => tf.sum(tf.square(k)))).mul(spec.l2));
            return loss;
          }, vars);
          if (decay !== 1) for (const v of vars) v.assign(v.mul(decay));
          optimizer.applyGradients(grads);
          const z = kept!;
          const out = { lossValue: value.dataSync()[0]!, logits: z.dataSync() };
          z.dispose();
          return out;
        });
        if (!Number.isFinite(lossValue))
          throw new StageError("QV_NN_DIVERGED", `the training loss became ${lossValue} in epoch ${epoch}`, {
            param: ["model", "optimizer"],
            hint: "lower the learning rate, or normalise the inputs (normalization: true)",
          });
        lossSum += lossValue * m;
        for (let r = 0; r < m; r++) if ((logits[r]! > 0 ? 1 : 0) === yb[r]) correct++;
      }
      let valLoss = NaN;
      let valAcc = NaN;
      if (validation && xVal) {
        const ev = evaluateLogits(
          predictLogits(tf, model, xVal, validation.n, d),
          validation,
          spec.loss_normalization,
          l2Penalty(tf, kernels, spec.l2),
        );
        valLoss = ev.loss;
        valAcc = ev.accuracy;
      }
      const seconds = (performance.now() - te) / 1000;
      hist.epoch.push(epoch);
      hist.loss.push(lossSum / n);
      hist.accuracy.push(correct / n);
      hist.val_loss.push(valLoss);
      hist.val_accuracy.push(valAcc);
      hist.time.push(seconds);

      reportEpoch(
        req.progress,
        epoch,
        spec.epochs,
        lossSum / n,
        validation ? valLoss : undefined,
        seconds,
        t0,
      );

      if (stopper) {
        const verdict = stopper.observe(
          epoch,
          { loss: lossSum / n, accuracy: correct / n, val_loss: valLoss, val_accuracy: valAcc },
          () => {
            stopper.bestWeights?.forEach((t) => t.dispose());
            return model.getWeights().map((t) => tf.keep(t.clone()));
          },
        );
        if (verdict === "stop") break;
      }
      // Let the event loop flush progress events between epochs.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const epochsRun = hist.epoch.length;
    const { restored, finalEpoch } = stopper
      ? stopper.finish(epochsRun, (w) => model.setWeights(w))
      : { restored: false, finalEpoch: epochsRun };
    const row = finalEpoch - 1;

    const metrics: JsonObject = {
      loss: hist.loss[row]!,
      accuracy: hist.accuracy[row]!,
      epochs_run: epochsRun,
      final_epoch: finalEpoch,
      best_epoch: stopper ? stopper.bestEpoch : null,
      stopped_early: stopper?.stoppedEarly ?? false,
      restored_best: restored,
      parameters: countParameters(model),
      train_rows: n,
      backend,
      tfjs: version,
    };
    if (validation && xVal) {
      const ev = evaluateLogits(
        predictLogits(tf, model, xVal, validation.n, d),
        validation,
        spec.loss_normalization,
        l2Penalty(tf, kernels, spec.l2),
      );
      Object.assign(metrics, {
        val_loss: ev.loss,
        val_accuracy: ev.accuracy,
        val_auc: Number.isNaN(ev.auc) ? null : ev.auc,
        validation_rows: validation.n,
      });
    }
    const saved = await saveNet(tf, model);
    return {
      saved,
      seconds: (performance.now() - t0) / 1000,
      normalization: norm,
      backend,
      tfjsVersion: version,
      metrics,
      history: {
        epoch: Int32Array.from(hist.epoch),
        loss: Float64Array.from(hist.loss),
        accuracy: Float64Array.from(hist.accuracy),
        val_loss: Float64Array.from(hist.val_loss),
        val_accuracy: Float64Array.from(hist.val_accuracy),
        time: Float64Array.from(hist.time),
      },
    };
  } finally {
    stopper?.bestWeights?.forEach((t) => t.dispose());
    optimizer.dispose();
    model.dispose();
  }
}

/** Scores (sigmoid of the logit, float64) of a saved network for a float32 row-major matrix. */
export function scoreWith(tf: Tf, model: LayersModel, x: Float32Array, n: number, d: number): Float64Array {
  const z = predictLogits(tf, model, x, n, d);
  for (let i = 0; i < n; i++) z[i] = sigmoid(z[i]!);
  return z;
}
