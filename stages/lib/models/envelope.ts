/**
 * Quiver's model envelope, the one place that reads and writes it, for every kind: `train` wraps a
 * kind's trained model in it, `predict` and `kfold` read it back and dispatch to the kind.
 *
 * Envelope (ModelArtifact.meta): {format: "quiver-model", version, kind, features, label, weight,
 * spec, lineage: {feature: chain} (what had been done to each feature of the training table, see
 * stages/lib/lineage.ts), preprocess: the scaler (or chain) the model applies to raw features
 * first, or null, training_data: {rows, hash}, <kind>: the kind's own meta}; blobs are the kind's
 * own blobs. Version 1 envelopes (before lineage) are still read: they have no lineage to check. A kfold artifact is
 * {format: "quiver-kfold", version, k, features, folds: [envelope meta...]} with blobs prefixed
 * "fold<i>/".
 */
import type { JsonObject, JsonValue } from "../../../core/json.js";
import { isJsonObject } from "../../../core/json.js";
import { StageError, type ExportProvenance, type ModelArtifact } from "../../../core/stage.js";
import type { Table } from "../../../core/table.js";
import { featureColumns } from "../columns.js";
import type { LabeledData } from "../labeled.js";
import { checkFeatureLineage, storedLineage, type ScoringNames } from "../lineage.js";
import { applyToFeatures, chainMetrics, scalerChain } from "../preprocess.js";
import type { FittedScaler } from "../scaler-artifact.js";
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
/** 2: lineage, preprocess and training_data. */
const FORMAT_VERSION = 2;
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
  /** The lineage of each feature in the table trained on (raw, before `preprocess`). */
  readonly lineage: JsonObject;
  /** Scalers the model applies to raw features before the kind sees them (empty: none). */
  readonly preprocess: readonly FittedScaler[];
  /** Rows and a content hash of the rows trained on (features, labels, weights), for provenance. */
  readonly trainingData: { readonly rows: number; readonly hash: string };
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
  const prepared = (d: LabeledData): LabeledData =>
    req.preprocess.length === 0
      ? d
      : { ...d, features: applyToFeatures(req.preprocess, req.columns.features, d.features) };
  const r = await kind.train({
    ...req,
    train: prepared(req.train),
    validation: req.validation && prepared(req.validation),
    what,
  });
  const meta: JsonObject = {
    format: MODEL_FORMAT,
    version: FORMAT_VERSION,
    kind: kind.name,
    features: [...req.columns.features],
    label: req.columns.label,
    weight: req.columns.weight ?? null,
    // A validated spec holds JSON values only.
    spec: req.spec as unknown as JsonObject,
    lineage: req.lineage,
    preprocess: req.preprocess.length > 0 ? chainMetrics(req.preprocess) : null,
    training_data: { rows: req.trainingData.rows, hash: req.trainingData.hash },
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
  const pre = meta.preprocess;
  return {
    kind,
    features: modelFeatures(m),
    label: typeof meta.label === "string" ? meta.label : "label",
    weight: typeof meta.weight === "string" ? meta.weight : null,
    spec: isJsonObject(spec) ? spec : { kind },
    meta: own,
    blobs: m.blobs,
    lineage: storedLineage(meta.lineage),
    preprocess: isJsonObject(pre) ? scalerChain(pre, "the model's preprocess") : [],
    trainingData: isJsonObject(meta.training_data) ? meta.training_data : null,
  };
}

/** Scores of a stored model for raw feature columns in its order: its preprocessing, then its kind. */
export function scoreStored(
  kind: AnyModelKind,
  stored: StoredModel,
  features: readonly Float64Array[],
  n: number,
  opts: ScoringOptions,
): Promise<Float64Array> {
  if (features.length !== stored.features.length)
    throw bad(`the model reads ${stored.features.length} features, not ${features.length}`);
  const ready =
    stored.preprocess.length > 0 ? applyToFeatures(stored.preprocess, stored.features, features) : features;
  return kind.score(stored, ready, n, opts);
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

/**
 * Probability of class 1 for each row of `t`, from a train or kfold model artifact. Refuses a
 * table whose features were prepared differently from the training table (QV_FEATURE_LINEAGE);
 * `names` says, for that message, which stage trained the model and where `t` came from.
 */
export async function scoreModel(
  kinds: ModelKinds,
  m: ModelArtifact,
  t: Table,
  opts: ScoringOptions,
  names: () => ScoringNames = () => ({ model: "the model", table: "the scored table" }),
): Promise<Float64Array> {
  const models = foldModels(m).map(readModel);
  // The k models of a kfold artifact vote with equal weight: the mean of their probabilities.
  const sum = new Float64Array(t.numRows);
  for (const stored of models) {
    const kind = kindNamed(kinds, stored.kind);
    checkFeatureLineage(stored.lineage, stored.features, t, names, stored.preprocess.length > 0);
    const features = featureColumns(t, stored.features, {
      param: undefined,
      what: "table",
      missing: kind.acceptsMissing ? "allow" : "refuse",
    });
    const s = await scoreStored(kind, stored, features, t.numRows, opts);
    if (models.length === 1) return s;
    for (let r = 0; r < s.length; r++) sum[r] = sum[r]! + s[r]!;
  }
  for (let r = 0; r < sum.length; r++) sum[r] = sum[r]! / models.length;
  return sum;
}

/** What the model is, for `show`, the report and run summaries (the first fold's, for kfold). */
export async function describeModel(kinds: ModelKinds, m: ModelArtifact): Promise<ModelDescription> {
  const folds = foldModels(m);
  const stored = readModel(folds[0]!);
  const described = await kindNamed(kinds, stored.kind).describe(stored);
  // The scaler a model carries is part of what it is: raw features go in.
  const d =
    stored.preprocess.length === 0
      ? described
      : {
          ...described,
          facts: {
            ...described.facts,
            preprocess: stored.preprocess
              .map(
                (s) =>
                  `${s.method} (${s.columns.filter((c) => stored.features.includes(c.name)).length} features)`,
              )
              .join(", then "),
          },
        };
  return folds.length === 1 ? d : { ...d, summary: `${folds.length} folds of ${d.summary}` };
}

/**
 * The whole model as one portable JSON document (schema in docs/models.md): {format, version: 2,
 * features, label, input, output, provenance?, then for one model: kind, preprocess, lineage,
 * training_data, model (the kind's export); for kfold: combine, folds: [{kind, preprocess,
 * lineage, training_data, model}]}. A kind without an `export` hook cannot be exported.
 */
export async function exportModel(
  kinds: ModelKinds,
  m: ModelArtifact,
  provenance?: ExportProvenance,
): Promise<JsonObject> {
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
    models.push({
      kind: stored.kind,
      preprocess: stored.preprocess.length > 0 ? chainMetrics(stored.preprocess) : null,
      lineage: stored.lineage
        ? Object.fromEntries(Object.entries(stored.lineage).map(([f, c]) => [f, [...c]]))
        : null,
      training_data: stored.trainingData,
      model: await kind.export(stored),
    });
  }
  const first = folds[0]!;
  const header: JsonObject = {
    format: PORTABLE_FORMAT,
    version: 2,
    features: [...first.features],
    label: first.label,
    input: "raw feature values in the order of `features` (the model's preprocessing comes first)",
    output: "probability of class 1",
    ...(provenance ? { provenance: { ...provenance } } : {}),
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
