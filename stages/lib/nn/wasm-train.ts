/**
 * Networks on the WebAssembly SIMD trainer (stages/lib/mlp): the same spec, conventions and
 * outputs as the tfjs loop (train-loop.ts), so the two are interchangeable and comparable:
 *
 * - the same initial weights for a seed (wasm-spec.ts `initialWeights`) and the same shuffled
 *   row order per epoch (one Rng stream from deriveSeed(seed, "shuffle")); only dropout masks
 *   come from the wasm trainer's own generator;
 * - inputs standardised here when `normalization: true` (the trainer has no such layer), the
 *   statistics kept in the model artifact;
 * - validation figures computed in float64 from the logits, exactly as the tfjs loop does;
 * - early stopping with the same rules (monitor, min_delta, patience, restore_best).
 *
 * Results do not depend on `threads` (the trainer chunks batches by size only), so the thread
 * count is never part of a fingerprint or an artifact.
 */
import { EarlyStopping } from "./early-stopping.js";
import type { JsonObject, JsonValue } from "../../../core/json.js";
import { StageError } from "../../../core/stage.js";
import type { MlpData, MlpTrainer } from "../mlp/index.js";
import { chunking } from "../mlp/layout.js";
import { Rng } from "../random.js";
import { deriveSeed } from "../../../core/seed.js";
import { fitNormalization, rowMajor } from "./data.js";
import type { LabeledData } from "../labeled.js";
import type { NnSpec } from "./spec.js";
import { checkNnRequest, evaluateLogits, reportEpoch, type History } from "./train-loop.js";
import { wasmNetMeta, withTrainerErrors } from "./wasm-net.js";
import { initialWeights, toMlpSpec, weightNames } from "./wasm-spec.js";

export interface WasmTrainRequest {
  readonly spec: NnSpec;
  readonly train: LabeledData;
  readonly validation?: LabeledData | undefined;
  readonly seed: number;
  /** Threads of the trainer (results do not depend on it). */
  readonly threads: number;
  readonly progress?: (fraction: number, line: string) => void;
  readonly signal?: AbortSignal;
}

export interface WasmTrainResult {
  /** The `nn` part of the model envelope (see wasmNetMeta). */
  readonly meta: JsonObject;
  readonly weights: Uint8Array;
  readonly history: History;
  readonly metrics: JsonObject;
  readonly seconds: number;
  readonly threads: number;
}

/** Float32 weights concatenated little-endian (as tfjs saves them) and their specs. */
function packWeights(names: readonly string[], shapes: readonly number[][], arrays: readonly Float32Array[]) {
  const total = arrays.reduce((a, w) => a + w.length, 0);
  const all = new Float32Array(total);
  let off = 0;
  const specs: JsonValue[] = arrays.map((w, i) => {
    all.set(w, off);
    off += w.length;
    return { name: names[i] ?? `weight_${i}`, shape: shapes[i] ?? [w.length], dtype: "float32" };
  });
  return { bytes: new Uint8Array(all.buffer), specs };
}

function l2Penalty(spec: NnSpec, names: readonly string[], weights: readonly Float32Array[]): number {
  if (spec.l2 === 0) return 0;
  let s = 0;
  weights.forEach((w, i) => {
    if (names[i]?.endsWith("/kernel")) for (let j = 0; j < w.length; j++) s += w[j]! * w[j]!;
  });
  return spec.l2 * s;
}

export async function trainNnWasm(req: WasmTrainRequest): Promise<WasmTrainResult> {
  const { spec, train, validation } = req;
  checkNnRequest(spec, train, validation);
  const d = train.features.length;
  const n = train.n;
  const norm = spec.normalization ? fitNormalization(train.features) : undefined;
  const threads = usefulThreads(spec, d, n, req.threads);
  const mlpSpec = toMlpSpec(spec, d, req.seed, threads);
  const names = weightNames(spec);
  const { createMlpTrainer, mlpSpecProblems } = await import("../mlp/index.js");
  const problems = mlpSpecProblems(mlpSpec);
  if (problems.length > 0)
    throw new StageError(
      "QV_NN_TRAINER",
      `the WebAssembly trainer cannot train this network: ${problems[0]}`,
      {
        param: ["trainer"],
        hint: "set trainer: tfjs (or auto, which picks tfjs for such networks)",
      },
    );

  return withTrainerErrors(async () => {
    const trainer = await createMlpTrainer(mlpSpec);
    try {
      trainer.setWeights(initialWeights(spec, d, req.seed));
      const data = trainer.loadData(
        rowMajor(train.features, n, norm),
        Float32Array.from(train.labels),
        train.weights ? Float32Array.from(train.weights) : undefined,
      );
      const val = validation
        ? trainer.loadData(
            rowMajor(validation.features, validation.n, norm),
            Float32Array.from(validation.labels),
          )
        : undefined;
      const evaluateVal = (): ReturnType<typeof evaluateLogits> | undefined =>
        validation && val
          ? evaluateLogits(
              trainer.predictLogits(val),
              validation,
              spec.loss_normalization,
              l2Penalty(spec, names, trainer.getWeights()),
            )
          : undefined;
      const loop = await epochLoop(req, trainer, data, evaluateVal);
      const weights = trainer.getWeights();
      const shapes = trainer.weightShapes();
      const packed = packWeights(names, shapes, weights);
      const metrics: JsonObject = {
        ...loop.metrics,
        parameters: countTrainable(spec, shapes),
        train_rows: n,
      };
      const ev = evaluateVal();
      if (ev && validation)
        Object.assign(metrics, {
          val_loss: ev.loss,
          val_accuracy: ev.accuracy,
          val_auc: Number.isNaN(ev.auc) ? null : ev.auc,
          validation_rows: validation.n,
        });
      return {
        meta: wasmNetMeta(mlpSpec.layers, d, packed.specs, norm),
        weights: packed.bytes,
        history: loop.history,
        metrics,
        seconds: loop.seconds,
        threads: trainer.threads,
      };
    } finally {
      await trainer.dispose();
    }
  });
}

/**
 * Arithmetic a thread needs per batch before a second thread pays for the wake-up and the
 * synchronisation after every batch (tens of microseconds, far more on a loaded machine): about
 * 130 µs of work at the kernels' 30 GFLOP/s. bench/results/mlp.md: the 4-top and dark-matter
 * networks (≤ 0.2 MFLOP per 32-row chunk) gain nothing from 2 threads; on a machine loaded
 * several times over its cores, a second thread made the 4-top 5-fold CV 2-5 times slower.
 */
const MIN_FLOP_PER_THREAD = 4e6;

/**
 * Threads worth using for this network and batch, up to `allowed`: never more than a batch has
 * chunks, and one per MIN_FLOP_PER_THREAD of the batch's work. Only speed depends on it: the
 * trainer's results are bit-identical for any thread count.
 */
export function usefulThreads(spec: NnSpec, inputDim: number, rows: number, allowed: number): number {
  const batch = Math.min(spec.batch_size, rows);
  const hasBatchNorm = spec.layers.some((l) => "batchnorm" in l);
  let width = inputDim;
  let macs = 0;
  for (const l of spec.layers)
    if ("dense" in l) {
      macs += width * l.dense;
      width = l.dense;
    }
  macs += width;
  // Forward, input gradient and weight gradient: three products of 2 flops per multiply-add.
  const flops = 6 * macs * batch;
  const byWork = Math.floor(flops / MIN_FLOP_PER_THREAD);
  return Math.max(1, Math.min(allowed, chunking(batch, hasBatchNorm).chunks, byWork));
}

/** Trainable parameters (kernels, biases, batchnorm gamma and beta; not the moving statistics). */
function countTrainable(spec: NnSpec, shapes: readonly number[][]): number {
  const names = weightNames(spec);
  let count = 0;
  shapes.forEach((s, i) => {
    if (/moving_(mean|variance)$/.test(names[i] ?? "")) return;
    count += s.reduce((a, b) => a * b, 1);
  });
  return count;
}

async function epochLoop(
  req: WasmTrainRequest,
  trainer: MlpTrainer,
  data: MlpData,
  evaluateVal: () => { loss: number; accuracy: number } | undefined,
): Promise<{ history: History; metrics: JsonObject; seconds: number }> {
  const { spec, train, validation } = req;
  const es = spec.early_stopping;
  const n = train.n;
  const batch = Math.min(spec.batch_size, n);
  const shuffleRng = new Rng(deriveSeed(req.seed, "shuffle"));
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const hist = { epoch: [] as number[], loss: [] as number[], accuracy: [] as number[] };
  const valLosses: number[] = [];
  const valAccs: number[] = [];
  const times: number[] = [];
  const stopper = es ? new EarlyStopping<Float32Array[]>(es, spec.epochs) : undefined;
  const t0 = performance.now();

  for (let epoch = 1; epoch <= spec.epochs; epoch++) {
    if (req.signal?.aborted) throw new Error("training aborted");
    const te = performance.now();
    if (spec.shuffle) shuffleRng.shuffle(order);
    const stats = trainer.trainEpochInOrder(data, batch, order);
    if (!Number.isFinite(stats.loss))
      throw new StageError("QV_NN_DIVERGED", `the training loss became ${stats.loss} in epoch ${epoch}`, {
        param: ["model", "optimizer"],
        hint: "lower the learning rate, or normalise the inputs (normalization: true)",
      });
    const ev = evaluateVal();
    const valLoss = ev?.loss ?? NaN;
    const valAcc = ev?.accuracy ?? NaN;
    const seconds = (performance.now() - te) / 1000;
    hist.epoch.push(epoch);
    hist.loss.push(stats.loss);
    hist.accuracy.push(stats.accuracy);
    valLosses.push(valLoss);
    valAccs.push(valAcc);
    times.push(seconds);

    reportEpoch(req.progress, epoch, spec.epochs, stats.loss, validation ? valLoss : undefined, seconds, t0);

    if (stopper) {
      const verdict = stopper.observe(
        epoch,
        { loss: stats.loss, accuracy: stats.accuracy, val_loss: valLoss, val_accuracy: valAcc },
        () => trainer.getWeights(),
      );
      if (verdict === "stop") break;
    }
    // Let the event loop flush progress events (and see an abort) between epochs.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const epochsRun = hist.epoch.length;
  const { restored, finalEpoch } = stopper
    ? stopper.finish(epochsRun, (w) => trainer.setWeights(w))
    : { restored: false, finalEpoch: epochsRun };
  const row = finalEpoch - 1;
  return {
    history: {
      epoch: Int32Array.from(hist.epoch),
      loss: Float64Array.from(hist.loss),
      accuracy: Float64Array.from(hist.accuracy),
      val_loss: Float64Array.from(valLosses),
      val_accuracy: Float64Array.from(valAccs),
      time: Float64Array.from(times),
    },
    metrics: {
      loss: hist.loss[row]!,
      accuracy: hist.accuracy[row]!,
      epochs_run: epochsRun,
      final_epoch: finalEpoch,
      best_epoch: stopper ? stopper.bestEpoch : null,
      stopped_early: stopper?.stoppedEarly ?? false,
      restored_best: restored,
    },
    seconds: (performance.now() - t0) / 1000,
  };
}
