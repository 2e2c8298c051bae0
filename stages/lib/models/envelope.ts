/**
 * Quiver's model envelope, the one place that reads and writes it, for every kind: `train` wraps a
 * kind's trained model in it, `predict` and `kfold` read it back and dispatch to the kind.
 *
 * Envelope (ModelArtifact.meta): {format: "quiver-model", version, kind, features, label, weight,
 * spec, <kind>: the kind's own meta}; blobs are the kind's own blobs. A kfold artifact is
 * {format: "quiver-kfold", version, k, features, folds: [envelope meta...]} with blobs prefixed
 * "fold<i>/".
 */
import type { JsonObject, JsonValue } from "../../../core/json.js";
import { isJsonObject } from "../../../core/json.js";
import { StageError, type ModelArtifact } from "../../../core/stage.js";
import type { Table } from "../../../core/table.js";
import { featureColumns } from "../columns.js";
import type { LabeledData } from "../labeled.js";
import { kindNamed, type ModelKinds } from "./index.js";
import type {
  AnyModelKind,
  ModelColumns,
  ModelDescription,
  ModelSpecValue,
  ScoringOptions,
  StoredModel,
  TrainingOptions,
} from "./kind.js";

const MODEL_FORMAT = "quiver-model";
const KFOLD_FORMAT = "quiver-kfold";
const FORMAT_VERSION = 1;
/** The header of an exported model document. */
const PORTABLE_FORMAT = "quiver-portable-model";

export interface TrainRequest {
  readonly spec: ModelSpecValue;
  readonly columns: ModelColumns;
  readonly train: LabeledData;
  readonly validation?: LabeledData | undefined;
  readonly seed: number;
  readonly options: TrainingOptions;
  /** How messages name the training rows ("training table", "training rows of fold 2"). */
  readonly what?: string;
  readonly progress?: ((fraction: number, line: string) => void) | undefined;
  readonly note?: ((message: string) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface Trained {
  readonly artifact: ModelArtifact;
  /** Deterministic: the same seed gives the same bytes (wall-clock times are in `run`). */
  readonly history: Table;
  /** Deterministic, like the history; starts with the kind's name. */
  readonly metrics: JsonObject;
  /** Facts about this run for the run summary only: trainer, timings, threads. */
  readonly run: JsonObject;
}

/** Trains `req.spec` with its kind (the registry's entry for `spec.kind`) and wraps the result in the envelope. */
export async function trainModel(kind: AnyModelKind, req: TrainRequest): Promise<Trained> {
  const what = req.what ?? "training table";
  const r = await kind.train({ ...req, what });
  const meta: JsonObject = {
    format: MODEL_FORMAT,
    version: FORMAT_VERSION,
    kind: kind.name,
    features: [...req.columns.features],
    label: req.columns.label,
    weight: req.columns.weight ?? null,
    // A validated spec holds JSON values only.
    spec: req.spec as unknown as JsonObject,
    [kind.name]: r.meta,
  };
  return {
    artifact: { meta, blobs: r.blobs },
    history: r.history,
    metrics: { kind: kind.name, ...r.metrics },
    run: r.run,
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
function modelFeatures(m: ModelArtifact): string[] {
  return stringList(m.meta.features, "feature list");
}

/** A single model's envelope, checked; `kfold` artifacts are read fold by fold with `foldModels`. */
export function readModel(m: ModelArtifact): StoredModel {
  const meta = m.meta;
  if (meta.format !== MODEL_FORMAT)
    throw bad(`this model has format ${JSON.stringify(meta.format ?? null)}, not ${MODEL_FORMAT}`);
  const kind = meta.kind;
  if (typeof kind !== "string") throw bad("the model does not say which kind it is");
  const own = meta[kind];
  if (!isJsonObject(own)) throw bad(`the ${kind} part of this model is missing`);
  const spec = meta.spec;
  return {
    kind,
    features: modelFeatures(m),
    label: typeof meta.label === "string" ? meta.label : "label",
    weight: typeof meta.weight === "string" ? meta.weight : null,
    spec: isJsonObject(spec) ? spec : { kind },
    meta: own,
    blobs: m.blobs,
  };
}

/** The single models inside an artifact: itself, or the k folds of a kfold artifact. */
export function foldModels(m: ModelArtifact): ModelArtifact[] {
  if (m.meta.format !== KFOLD_FORMAT) return [m];
  const folds = m.meta.folds;
  if (!Array.isArray(folds) || folds.length === 0) throw bad("the kfold model lists no folds");
  return folds.map((meta, i) => {
    if (!isJsonObject(meta)) throw bad(`fold ${i} of the kfold model is malformed`);
    return { meta, blobs: foldBlobs(m, i) };
  });
}

/** Probability of class 1 for each row of `t`, from a train or kfold model artifact. */
export async function scoreModel(
  kinds: ModelKinds,
  m: ModelArtifact,
  t: Table,
  opts: ScoringOptions,
): Promise<Float64Array> {
  const models = foldModels(m).map(readModel);
  // The k models of a kfold artifact vote with equal weight: the mean of their probabilities.
  const sum = new Float64Array(t.numRows);
  for (const stored of models) {
    const kind = kindNamed(kinds, stored.kind);
    const features = featureColumns(t, stored.features, {
      param: undefined,
      what: "table",
      missing: kind.acceptsMissing ? "allow" : "refuse",
    });
    const s = await scoreFeatures(kind, stored, features, t.numRows, opts);
    if (models.length === 1) return s;
    for (let r = 0; r < s.length; r++) sum[r] = sum[r]! + s[r]!;
  }
  for (let r = 0; r < sum.length; r++) sum[r] = sum[r]! / models.length;
  return sum;
}

/** Scores of one stored model for feature columns in the model's order. */
function scoreFeatures(
  kind: AnyModelKind,
  stored: StoredModel,
  features: readonly Float64Array[],
  n: number,
  opts: ScoringOptions,
): Promise<Float64Array> {
  if (features.length !== stored.features.length)
    throw bad(`the model reads ${stored.features.length} features, not ${features.length}`);
  return kind.score(stored, features, n, opts);
}

/** What the model is, for `show`, the report and run summaries (the first fold's, for kfold). */
export async function describeModel(kinds: ModelKinds, m: ModelArtifact): Promise<ModelDescription> {
  const folds = foldModels(m);
  const stored = readModel(folds[0]!);
  const d = await kindNamed(kinds, stored.kind).describe(stored);
  return folds.length === 1 ? d : { ...d, summary: `${folds.length} folds of ${d.summary}` };
}

/**
 * The whole model as one portable JSON document: {format, version, kind, features, label,
 * output: "probability of class 1", model: the kind's export; for kfold: folds: [...], the mean
 * of their probabilities}. A kind without an `export` hook cannot be exported.
 */
export async function exportModel(kinds: ModelKinds, m: ModelArtifact): Promise<JsonObject> {
  const folds = foldModels(m).map(readModel);
  const models: JsonObject[] = [];
  for (const stored of folds) {
    const kind = kindNamed(kinds, stored.kind);
    if (!kind.export)
      throw new StageError("QV_MODEL_EXPORT", `models of kind ${kind.name} cannot be exported`, {
        hint: `kinds that can: ${[...kinds.values()]
          .filter((k) => k.export)
          .map((k) => k.name)
          .join(", ")}`,
      });
    models.push({ kind: stored.kind, model: await kind.export(stored) });
  }
  const first = folds[0]!;
  const header = {
    format: PORTABLE_FORMAT,
    version: 1,
    features: [...first.features],
    label: first.label,
    output: "probability of class 1",
  };
  return models.length === 1
    ? { ...header, ...models[0]! }
    : { ...header, combine: "mean of the folds' probabilities", folds: models };
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
