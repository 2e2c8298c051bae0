/**
 * One entry point for the model kinds (`nn` on tfjs, `gbt` from stages/lib/gbt) used by `train`,
 * `kfold` and `predict`: train on labelled data, wrap the result in Quiver's model envelope, and
 * score a table with any envelope (a single model, or the k models of a `kfold` stage).
 *
 * Envelope (ModelArtifact.meta): {format: "quiver-model", version, kind, features, label, weight,
 * spec, <kind>: kind-specific meta}; blobs are the kind's own blobs. A kfold artifact is
 * {format: "quiver-kfold", version, k, features, folds: [envelope meta...]} with blobs prefixed
 * "fold<i>/".
 */
import type { JsonObject, JsonValue } from "../../core/json.js";
import { canonicalJson, isJsonObject } from "../../core/json.js";
import { StageError, type ModelArtifact } from "../../core/stage.js";
import { float64Column, int32Column, makeTable, type Table } from "../../core/table.js";
import type { BackendChoice } from "./nn/backend.js";
import type { History } from "./nn/train-loop.js";
import { MLP_TRAINER_ID, resolveTrainer, type TrainerChoice } from "./nn/wasm-spec.js";
import { checkBothClasses, checkGbtWeights } from "./training-checks.js";
import { featureColumns, rowMajor, type LabeledData, type Normalization } from "./nn/data.js";
import { accuracy, bceOfProbability, rocAuc, weightedMean } from "./nn/metrics.js";
import type { GbtSpec, ModelSpec, NnSpec } from "./nn/spec.js";

export const MODEL_FORMAT = "quiver-model";
export const KFOLD_FORMAT = "quiver-kfold";
const FORMAT_VERSION = 1;

export interface ModelColumns {
  readonly features: readonly string[];
  readonly label: string;
  readonly weight?: string | undefined;
}

export interface TrainRequest {
  readonly spec: ModelSpec;
  readonly columns: ModelColumns;
  readonly train: LabeledData;
  readonly validation?: LabeledData | undefined;
  readonly seed: number;
  /** Which trainer fits a network (auto: the WebAssembly trainer when it supports the spec). */
  readonly trainer: TrainerChoice;
  readonly backend: BackendChoice;
  /** Threads the WebAssembly network trainer and gbt may use; results do not depend on it. */
  readonly threads: number;
  /** How messages name the training rows ("training table", "training rows of fold 2"). */
  readonly what?: string;
  readonly progress?: (fraction: number, line: string) => void;
  readonly signal?: AbortSignal;
}

export interface Trained {
  readonly artifact: ModelArtifact;
  /** Deterministic: the same seed gives the same bytes (wall-clock times are in `run`). */
  readonly history: Table;
  /** Deterministic, like the history. */
  readonly metrics: JsonObject;
  /** Facts about this run for the run summary only: trainer, timings, threads. */
  readonly run: JsonObject;
}

/** Options for scoring: the tfjs backend (tfjs-trained networks) and threads (wasm-trained ones). */
export interface ScoreOptions {
  readonly backend: BackendChoice;
  readonly threads: number;
}

function envelope(req: TrainRequest, kindMeta: JsonObject): JsonObject {
  return {
    format: MODEL_FORMAT,
    version: FORMAT_VERSION,
    kind: req.spec.kind,
    features: [...req.columns.features],
    label: req.columns.label,
    weight: req.columns.weight ?? null,
    spec: req.spec as unknown as JsonObject,
    [req.spec.kind]: kindMeta,
  };
}

export async function trainModel(req: TrainRequest): Promise<Trained> {
  const spec = req.spec;
  switch (spec.kind) {
    case "nn":
      return trainNnModel(req, spec);
    case "gbt":
      return trainGbtModel(req, spec);
    default: {
      const never: never = spec;
      throw new Error(`unknown model kind ${JSON.stringify(never)}`);
    }
  }
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

async function trainNnModel(req: TrainRequest, spec: NnSpec): Promise<Trained> {
  const trainer = resolveTrainer(req.trainer, spec, req.columns.features.length);
  if (trainer === "wasm") return trainNnWasmModel(req, spec);
  const { trainNn } = await import("./nn/train-loop.js");
  const r = await trainNn({
    spec,
    train: req.train,
    validation: req.validation,
    seed: req.seed,
    backend: req.backend,
    ...(req.progress ? { progress: req.progress } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  const meta = envelope(req, {
    modelTopology: r.saved.modelTopology,
    weightSpecs: r.saved.weightSpecs,
    normalization: r.normalization ? { mean: r.normalization.mean, std: r.normalization.std } : null,
    backend: r.backend,
    tfjs: r.tfjsVersion,
  });
  return {
    artifact: { meta, blobs: { weights: r.saved.weights } },
    history: historyTable(r.history),
    metrics: { kind: "nn", trainer: "tfjs", ...r.metrics },
    run: { trainer: "tfjs", backend: r.backend, ...timing(r.seconds, r.history) },
  };
}

async function trainNnWasmModel(req: TrainRequest, spec: NnSpec): Promise<Trained> {
  const { trainNnWasm } = await import("./nn/wasm-train.js");
  const r = await trainNnWasm({
    spec,
    train: req.train,
    validation: req.validation,
    seed: req.seed,
    threads: req.threads,
    ...(req.progress ? { progress: req.progress } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  return {
    artifact: { meta: envelope(req, r.meta), blobs: { weights: r.weights } },
    history: historyTable(r.history),
    metrics: { kind: "nn", trainer: MLP_TRAINER_ID, ...r.metrics },
    run: { trainer: MLP_TRAINER_ID, threads: r.threads, ...timing(r.seconds, r.history) },
  };
}

/** Loss, accuracy and AUC of probabilities; the loss is Σwℓ/N as the networks' default. */
export function classifierFigures(
  prob: Float64Array,
  data: LabeledData,
): { loss: number; accuracy: number; auc: number } {
  const losses = new Float64Array(data.n);
  for (let i = 0; i < data.n; i++) losses[i] = bceOfProbability(prob[i]!, data.labels[i]!);
  return {
    loss: weightedMean(losses, data.weights, "batch_size"),
    accuracy: accuracy(prob, data.labels),
    auc: rocAuc(prob, data.labels, data.weights),
  };
}

async function trainGbtModel(req: TrainRequest, spec: GbtSpec): Promise<Trained> {
  if (req.train.weights) checkGbtWeights(req.train.weights, req.columns.weight, req.what ?? "training table");
  checkBothClasses(req.train, req.what ?? "training table");
  const { trainGbt, predictGbt } = await import("./gbt/index.js");
  const t0 = performance.now();
  req.progress?.(0, `gbt: ${spec.num_trees} trees, depth ${spec.max_depth}, ${req.train.n} rows`);
  const r = trainGbt(
    {
      features: req.train.features,
      featureNames: req.columns.features,
      labels: req.train.labels,
      ...(req.train.weights ? { weights: req.train.weights } : {}),
    },
    {
      numTrees: spec.num_trees,
      maxDepth: spec.max_depth,
      minExamples: spec.min_examples,
      subsample: spec.subsample,
      shrinkage: spec.shrinkage,
      maxBins: spec.max_bins,
      l2: spec.l2,
    },
    req.seed,
    { threads: req.threads },
  );
  const seconds = (performance.now() - t0) / 1000;
  const trainFig = classifierFigures(predictGbt(r.model, req.train.features), req.train);
  const metrics: JsonObject = {
    kind: "gbt",
    trainer: "quiver-gbt",
    loss: trainFig.loss,
    accuracy: trainFig.accuracy,
    num_trees: r.trainLoss.length,
    train_rows: req.train.n,
  };
  if (req.validation) {
    const v = classifierFigures(predictGbt(r.model, req.validation.features), req.validation);
    Object.assign(metrics, {
      val_loss: v.loss,
      val_accuracy: v.accuracy,
      val_auc: Number.isNaN(v.auc) ? null : v.auc,
      validation_rows: req.validation.n,
    });
  }
  req.progress?.(1, `gbt: ${r.trainLoss.length} trees in ${seconds.toFixed(1)} s`);
  const tree = new Int32Array(r.trainLoss.length);
  for (let i = 0; i < tree.length; i++) tree[i] = i + 1;
  return {
    artifact: { meta: envelope(req, r.model.meta), blobs: r.model.blobs },
    history: makeTable([
      ["tree", int32Column(tree)],
      ["loss", float64Column(Float64Array.from(r.trainLoss))],
    ]),
    metrics,
    run: { trainer: "quiver-gbt", threads: r.threads, training_seconds: Math.round(seconds * 1000) / 1000 },
  };
}

// ---- reading envelopes ----

function bad(message: string): StageError {
  return new StageError("QV_MODEL_FORMAT", message, {
    hint: "connect the `model` output of a train or kfold stage",
  });
}

function stringList(v: JsonValue | undefined, what: string): string[] {
  if (!Array.isArray(v)) throw bad(`the model's ${what} is not a list of names`);
  return v.map((x) => {
    if (typeof x !== "string") throw bad(`the model's ${what} is not a list of names`);
    return x;
  });
}

/** The feature names a model (single or kfold) reads. */
export function modelFeatures(m: ModelArtifact): string[] {
  return stringList(m.meta.features, "feature list");
}

function numberList(v: JsonValue | undefined): number[] {
  if (!Array.isArray(v)) throw bad("the model's normalisation is malformed");
  return v.map((x) => {
    if (typeof x !== "number") throw bad("the model's normalisation is malformed");
    return x;
  });
}

/** Probability of class 1 for each row of `t`, from a train or kfold model artifact. */
export async function scoreModel(m: ModelArtifact, t: Table, opts: ScoreOptions): Promise<Float64Array> {
  const format = m.meta.format;
  if (format === KFOLD_FORMAT) {
    // The k models vote with equal weight: the mean of their probabilities.
    const folds = m.meta.folds;
    if (!Array.isArray(folds) || folds.length === 0) throw bad("the kfold model lists no folds");
    const sum = new Float64Array(t.numRows);
    for (let i = 0; i < folds.length; i++) {
      const meta = folds[i];
      if (!isJsonObject(meta)) throw bad(`fold ${i} of the kfold model is malformed`);
      const s = await scoreModel({ meta, blobs: foldBlobs(m, i) }, t, opts);
      for (let r = 0; r < s.length; r++) sum[r] = sum[r]! + s[r]!;
    }
    for (let r = 0; r < sum.length; r++) sum[r] = sum[r]! / folds.length;
    return sum;
  }
  if (format !== MODEL_FORMAT)
    throw bad(`this model has format ${JSON.stringify(format ?? null)}, not ${MODEL_FORMAT}`);
  const features = featureColumns(t, modelFeatures(m), "table", {
    param: false,
    allowMissing: m.meta.kind === "gbt",
  });
  return scoreFeatures(m, features, t.numRows, opts);
}

/** Scores of one model (format quiver-model) for feature columns in the model's order. */
export async function scoreFeatures(
  m: ModelArtifact,
  features: readonly Float64Array[],
  n: number,
  opts: ScoreOptions,
): Promise<Float64Array> {
  const kind = typeof m.meta.kind === "string" ? m.meta.kind : canonicalJson(m.meta.kind ?? null);
  switch (kind) {
    case "nn": {
      const nn = m.meta.nn;
      const weights = m.blobs.weights;
      if (!isJsonObject(nn)) throw bad("the network in this model is incomplete");
      const normJson = nn.normalization;
      let norm: Normalization | undefined;
      if (isJsonObject(normJson)) norm = { mean: numberList(normJson.mean), std: numberList(normJson.std) };
      if (norm && (norm.mean.length !== features.length || norm.std.length !== features.length))
        throw bad("the model's normalisation does not match its features");
      const wasm = await import("./nn/wasm-net.js");
      if (wasm.isWasmNet(nn)) {
        // Trained on the WebAssembly kernels: scored on them too.
        const net = wasm.parseWasmNet(nn, weights, bad);
        if (net.inputDim !== features.length)
          throw bad("the network's input size does not match its features");
        return wasm.scoreWasmNet(net, rowMajor(features, n, norm), opts.threads);
      }
      if (!isJsonObject(nn.modelTopology) || !Array.isArray(nn.weightSpecs) || !weights)
        throw bad("the network in this model is incomplete");
      const { loadTf } = await import("./nn/backend.js");
      const { loadNet } = await import("./nn/network.js");
      const { scoreWith } = await import("./nn/train-loop.js");
      const { tf } = await loadTf(opts.backend);
      const net = await loadNet(tf, {
        modelTopology: nn.modelTopology,
        weightSpecs: nn.weightSpecs,
        weights,
      });
      try {
        return scoreWith(tf, net, rowMajor(features, n, norm), n, features.length);
      } finally {
        net.dispose();
      }
    }
    case "gbt": {
      const inner = m.meta.gbt;
      if (!isJsonObject(inner)) throw bad("the trees in this model are missing");
      const { predictGbt } = await import("./gbt/index.js");
      return predictGbt({ meta: inner, blobs: m.blobs }, features);
    }
    default:
      throw bad(`unknown model kind ${JSON.stringify(kind)}`);
  }
}

/** Packs k single-model artifacts into one kfold artifact. */
export function packFolds(models: readonly ModelArtifact[], extra: JsonObject): ModelArtifact {
  const blobs: Record<string, Uint8Array> = {};
  models.forEach((m, i) => {
    for (const [name, bytes] of Object.entries(m.blobs)) blobs[`fold${i}/${name}`] = bytes;
  });
  const first = models[0];
  if (!first) throw new Error("packFolds: no models");
  return {
    meta: {
      format: KFOLD_FORMAT,
      version: FORMAT_VERSION,
      k: models.length,
      features: first.meta.features ?? [],
      ...extra,
      folds: models.map((m) => m.meta),
    },
    blobs,
  };
}

function foldBlobs(m: ModelArtifact, i: number): Record<string, Uint8Array> {
  const prefix = `fold${i}/`;
  const out: Record<string, Uint8Array> = {};
  for (const [name, bytes] of Object.entries(m.blobs))
    if (name.startsWith(prefix)) out[name.slice(prefix.length)] = bytes;
  return out;
}

export function isModelSpecNn(spec: ModelSpec): spec is NnSpec {
  return spec.kind === "nn";
}
