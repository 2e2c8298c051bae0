/**
 * `kind: nn` — a feed-forward network with one sigmoid output (no hidden layers: logistic
 * regression, which is therefore not a kind of its own). It trains on Quiver's WebAssembly SIMD
 * trainer when that supports the spec, else on tfjs (`trainer:`); the spec and its conventions
 * are in docs/training.md, the library in stages/lib/nn and stages/lib/mlp.
 */
import type { JsonObject } from "../../../core/json.js";
import { float64Column, int32Column, makeTable, type Table } from "../../../core/table.js";
import { StageError, type ParamProblem } from "../../../core/stage.js";
import { nnEnvironment } from "../nn/backend.js";
import { rowMajor, type Normalization } from "../nn/data.js";
import { nnSpecSchema, type NnSpec } from "../nn/spec.js";
import type { History } from "../nn/train-loop.js";
import { describeNetwork, exportNetwork, storedNormalization } from "../nn/portable.js";
import { MLP_TRAINER_ID, resolveTrainer, wasmProblems } from "../nn/wasm-spec.js";
import {
  defineModelKind,
  type KindTrainRequest,
  type KindTrained,
  type ScoringOptions,
  type StoredModel,
} from "./kind.js";

function bad(message: string): StageError {
  return new StageError("QV_MODEL_FORMAT", message, {
    hint: "connect the `model` output of a train or kfold stage",
  });
}

function historyTable(h: History): Table {
  return makeTable([
    ["epoch", int32Column(h.epoch)],
    ["loss", float64Column(h.loss)],
    ["accuracy", float64Column(h.accuracy)],
    ["val_loss", float64Column(h.val_loss)],
    ["val_accuracy", float64Column(h.val_accuracy)],
  ]);
}

function timing(seconds: number, h: History): JsonObject {
  const epochs = h.time.length;
  return {
    training_seconds: Math.round(seconds * 1000) / 1000,
    ...(epochs > 0
      ? { seconds_per_epoch: Math.round((h.time.reduce((a, b) => a + b, 0) / epochs) * 1e4) / 1e4 }
      : {}),
  };
}

async function trainOnTfjs(req: KindTrainRequest<NnSpec>): Promise<KindTrained> {
  const { trainNn } = await import("../nn/train-loop.js");
  const r = await trainNn({
    spec: req.spec,
    train: req.train,
    validation: req.validation,
    seed: req.seed,
    backend: req.options.backend,
    ...(req.progress ? { progress: req.progress } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  return {
    meta: {
      modelTopology: r.saved.modelTopology,
      weightSpecs: r.saved.weightSpecs,
      normalization: r.normalization ? { mean: r.normalization.mean, std: r.normalization.std } : null,
      backend: r.backend,
      tfjs: r.tfjsVersion,
    },
    blobs: { weights: r.saved.weights },
    history: historyTable(r.history),
    metrics: { trainer: "tfjs", ...r.metrics },
    run: { trainer: "tfjs", backend: r.backend, ...timing(r.seconds, r.history) },
  };
}

async function trainOnWasm(req: KindTrainRequest<NnSpec>): Promise<KindTrained> {
  const { trainNnWasm } = await import("../nn/wasm-train.js");
  const r = await trainNnWasm({
    spec: req.spec,
    train: req.train,
    validation: req.validation,
    seed: req.seed,
    threads: req.options.threads,
    ...(req.progress ? { progress: req.progress } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  return {
    meta: r.meta,
    blobs: { weights: r.weights },
    history: historyTable(r.history),
    metrics: { trainer: MLP_TRAINER_ID, ...r.metrics },
    run: { trainer: MLP_TRAINER_ID, threads: r.threads, ...timing(r.seconds, r.history) },
  };
}

async function scoreNetwork(
  model: StoredModel,
  features: readonly Float64Array[],
  n: number,
  opts: ScoringOptions,
): Promise<Float64Array> {
  const nn = model.meta;
  const weights = model.blobs.weights;
  let norm: Normalization | undefined;
  try {
    norm = storedNormalization(model) ?? undefined;
  } catch {
    throw bad("the model's normalisation is malformed");
  }
  if (norm && (norm.mean.length !== features.length || norm.std.length !== features.length))
    throw bad("the model's normalisation does not match its features");
  const wasm = await import("../nn/wasm-net.js");
  if (wasm.isWasmNet(nn)) {
    // Trained on the WebAssembly kernels: scored on them too.
    const net = wasm.parseWasmNet(nn, weights, bad);
    if (net.inputDim !== features.length) throw bad("the network's input size does not match its features");
    return wasm.scoreWasmNet(net, rowMajor(features, n, norm), opts.threads);
  }
  const topology = nn.modelTopology;
  if (typeof topology !== "object" || topology === null || Array.isArray(topology))
    throw bad("the network in this model is incomplete");
  if (!Array.isArray(nn.weightSpecs) || !weights) throw bad("the network in this model is incomplete");
  const { loadTf } = await import("../nn/backend.js");
  const { loadNet } = await import("../nn/network.js");
  const { scoreWith } = await import("../nn/train-loop.js");
  const { tf } = await loadTf(opts.backend);
  const net = await loadNet(tf, { modelTopology: topology, weightSpecs: nn.weightSpecs, weights });
  try {
    return scoreWith(tf, net, rowMajor(features, n, norm), n, features.length);
  } finally {
    net.dispose();
  }
}

export const nnKind = defineModelKind<NnSpec>({
  name: "nn",
  description: "neural network on the WebAssembly trainer or tfjs",
  synopsis: "{kind: nn, layers: [...], optimizer: ...}",
  spec: nnSpecSchema,
  historyColumns: "per epoch: epoch, loss, accuracy, val_loss, val_accuracy",
  acceptsMissing: false,
  check(spec, ctx): ParamProblem[] {
    if (ctx.trainer !== "wasm") return [];
    const why = wasmProblems(spec, ctx.features.length);
    if (why.length === 0) return [];
    return [
      {
        path: ["trainer"],
        code: "QV_NN_TRAINER",
        message: `the WebAssembly trainer cannot train this network: ${why[0]}`,
        hint: "set trainer: tfjs, or auto to use tfjs for networks the WebAssembly trainer lacks",
      },
    ];
  },
  // The trainer (and for tfjs its backend and version); never the thread count: no trainer's
  // results depend on it.
  environment(spec, ctx) {
    return resolveTrainer(ctx.trainer, spec, ctx.features.length) === "wasm"
      ? { trainer: MLP_TRAINER_ID }
      : nnEnvironment(ctx.backend);
  },
  train(req) {
    const trainer = resolveTrainer(req.options.trainer, req.spec, req.columns.features.length);
    if (trainer === "wasm" && req.options.backend !== "auto")
      req.note?.(
        `backend: ${req.options.backend} applies to the tfjs trainer; this network trains on the WebAssembly trainer (set trainer: tfjs to use tfjs)`,
      );
    return trainer === "wasm" ? trainOnWasm(req) : trainOnTfjs(req);
  },
  score: scoreNetwork,
  // Float32 arithmetic can differ between tfjs backends, so the backend is part of a score; so are
  // the WebAssembly kernels that score wasm-trained networks (not their thread count).
  scoringEnvironment: (opts) => ({ ...nnEnvironment(opts.backend), wasm: MLP_TRAINER_ID }),
  describe: (model) => Promise.resolve(describeNetwork(model)),
  export: (model) => Promise.resolve(exportNetwork(model)),
  // The scaler the model carries as nodes on the input, then the network (stages/lib/onnx/network.ts).
  async onnx(model, g, input) {
    const { scalerNodes } = await import("../onnx/scaler.js");
    const { networkNodes } = await import("../onnx/network.js");
    const x =
      input.preprocess.length > 0 ? scalerNodes(g, input.name, model.features, input.preprocess) : input.name;
    try {
      return networkNodes(g, x, exportNetwork(model), input.prefix);
    } catch (e) {
      throw new StageError(
        "QV_MODEL_EXPORT",
        `this network cannot be written as ONNX: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  },
  // The WebAssembly trainer runs one fold at a time on all the threads it may use; tfjs is
  // single-threaded per thread, so its folds run in parallel workers.
  async foldExecution(spec, ctx) {
    if (resolveTrainer(ctx.trainer, spec, ctx.features.length) !== "wasm") return { mode: "workers" };
    const threads = Math.max(1, Math.min(ctx.jobs, 64));
    const { usefulThreads } = await import("../nn/wasm-train.js");
    return {
      mode: "sequential",
      threads,
      threadsUsed: usefulThreads(spec, ctx.features.length, ctx.trainRows, threads),
    };
  },
});
