/**
 * The contract of a model kind: what `train`, `kfold` and `predict` need from a family of
 * models (`kind: nn`, `kind: gbt`, ...) and nothing more. A kind is one typed value in one file
 * (stages/lib/models/<kind>.ts) listed in stages/lib/models/index.ts; the stages dispatch through
 * the registry and never name a kind.
 *
 * Kind files import their training libraries lazily, inside `train` and `score`: the registry is
 * read while planning, which must stay cheap.
 */
import type { JsonObject, JsonValue } from "../../../core/json.js";
import type { Schema } from "../../../core/schema.js";
import type { ParamProblem } from "../../../core/stage.js";
import type { Lineage, Table } from "../../../core/table.js";
import type { FittedScaler } from "../scaler-artifact.js";
import type { OnnxGraph } from "../onnx/graph.js";
import type { BackendChoice } from "../nn/backend.js";
import type { LabeledData } from "../labeled.js";
import type { TrainerChoice } from "../nn/wasm-spec.js";

/** What every spec under `model:` has: the kind's name. The rest belongs to the kind. */
export interface ModelSpecValue {
  readonly kind: string;
}

/** The columns a model reads, as the stage's params name them. */
export interface ModelColumns {
  readonly features: readonly string[];
  readonly label: string;
  readonly weight?: string | undefined;
}

/**
 * The `train`/`kfold` params beside the spec that say how to train rather than what: the trainer
 * and tfjs backend for networks (kinds with one trainer ignore them, and may warn in `check`)
 * and the threads a trainer may use (results never depend on them).
 */
export interface TrainingOptions {
  readonly trainer: TrainerChoice;
  readonly backend: BackendChoice;
  readonly threads: number;
}

/** What `check` and `environment` may look at: params only, no data (they run while planning). */
export interface PlanContext {
  readonly features: readonly string[];
  readonly trainer: TrainerChoice;
  readonly backend: BackendChoice;
}

export interface KindTrainRequest<S> {
  readonly spec: S;
  readonly columns: ModelColumns;
  readonly train: LabeledData;
  readonly validation?: LabeledData | undefined;
  readonly seed: number;
  readonly options: TrainingOptions;
  /** How messages name the training rows ("training table", "training rows of fold 2"). */
  readonly what: string;
  readonly progress?: ((fraction: number, line: string) => void) | undefined;
  /** A note for the run summary (absent where nobody reads it, e.g. in a fold worker). */
  readonly note?: ((message: string) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface KindTrained {
  /** The kind's part of the model envelope (stored under the kind's name). */
  readonly meta: JsonObject;
  readonly blobs: Readonly<Record<string, Uint8Array>>;
  /** Deterministic: the same seed gives the same bytes (wall-clock times go in `run`). */
  readonly history: Table;
  /** Deterministic training figures (loss, accuracy, val_loss, val_accuracy, val_auc, ...). */
  readonly metrics: JsonObject;
  /** Facts about this run for the run summary only: trainer, timings, threads. */
  readonly run: JsonObject;
}

/** A trained single model read back from its envelope (stages/lib/models/envelope.ts). */
export interface StoredModel {
  readonly kind: string;
  readonly features: readonly string[];
  readonly label: string;
  readonly weight: string | null;
  /** The validated spec it was trained with (as JSON). */
  readonly spec: JsonObject;
  /** The kind's own part of the envelope. */
  readonly meta: JsonObject;
  readonly blobs: Readonly<Record<string, Uint8Array>>;
  /** The lineage of each feature it was trained on (stages/lib/lineage.ts); null before lineage existed. */
  readonly lineage: Readonly<Record<string, Lineage>> | null;
  /** The scalers applied to raw features before the kind scores them (empty: none). */
  readonly preprocess: readonly FittedScaler[];
  /** {rows, hash} of the training rows, when the envelope records them. */
  readonly trainingData: JsonObject | null;
}

/** Options for scoring: the tfjs backend (for tfjs-trained networks) and threads. */
export interface ScoringOptions {
  readonly backend: BackendChoice;
  readonly threads: number;
}

/** One row of a model's structure table (a network's layers, a forest's summary). */
export interface ModelPart {
  readonly name: string;
  readonly type: string;
  /** e.g. "16 units, relu", "rate 0.2", "depth ≤ 3". */
  readonly detail: string;
  readonly parameters: number;
}

/**
 * What `show` and the report say about a trained model: small and typed, so a viewer renders it
 * without knowing the kind.
 */
export interface ModelDescription {
  readonly kind: string;
  /** One line, e.g. "network 7 → 16 → 16 → 1, 433 trainable parameters". */
  readonly summary: string;
  /** The code that trained it (and scores it), e.g. "quiver-gbt", "tfjs". */
  readonly trainer: string;
  readonly parts: readonly ModelPart[];
  readonly parameters: number;
  /** Facts worth a line each (normalisation, tree count, ...). */
  readonly facts: Readonly<Record<string, string | number | boolean>>;
  /** Per-feature importance when the kind has one, with what the numbers mean. */
  readonly importance?: {
    readonly method: string;
    readonly values: Readonly<Record<string, number>>;
  };
}

/** Per-feature importance as a kind measures it, with what the numbers mean. */
export interface FeatureImportance {
  readonly method: string;
  readonly values: Readonly<Record<string, number>>;
}

/**
 * How `kfold` runs a kind's folds: one after another in this thread, each given `threads`
 * (`threadsUsed` is what the run summary reports), or in parallel worker threads, one fold and one
 * thread per worker. Worker threads know Quiver's own kinds only (`defaultModelKinds`, found by
 * name: a worker never imports a module it is sent), so the folds of a kind added to a registry
 * at run time run one after another on one thread.
 */
export type FoldExecution =
  | { readonly mode: "sequential"; readonly threads: number; readonly threadsUsed: number }
  | { readonly mode: "workers" };

export interface ModelKind<S extends ModelSpecValue> {
  /** The value of `kind:` in YAML. */
  readonly name: string;
  /** A few words for stage descriptions: "gradient-boosted trees". */
  readonly description: string;
  /** How the spec reads in one line, for the `model:` param's description: "{kind: gbt, num_trees: ...}". */
  readonly synopsis: string;
  /** The schema of the spec under `model:`; its `kind` field is an enum of exactly `name`. */
  readonly spec: Schema<S>;
  /** The columns of the history output, e.g. "epoch, loss, accuracy, val_loss, val_accuracy". */
  readonly historyColumns: string;
  /** Whether feature columns may hold missing values (NaN): trees can route them, networks cannot. */
  readonly acceptsMissing: boolean;
  /** Checks of the spec beyond its schema (the library's limits, trainer options); paths are the stage's. */
  check?(spec: S, ctx: PlanContext): ParamProblem[];
  /** What enters the fingerprint besides params: the trainer, and anything else results depend on. */
  environment(spec: S, ctx: PlanContext): JsonValue;
  /**
   * Data checks `kfold` makes once on the whole table before splitting it, so that a bad row is
   * named by its number there; `train` must still check the rows it is given.
   */
  checkData?(data: LabeledData, columns: ModelColumns, what: string): void;
  train(req: KindTrainRequest<S>): Promise<KindTrained>;
  /** Probability of class 1 for each row; `features` are in the model's feature order. */
  score(
    model: StoredModel,
    features: readonly Float64Array[],
    n: number,
    opts: ScoringOptions,
  ): Promise<Float64Array>;
  /** What scoring depends on beyond the model (e.g. the tfjs backend); enters `predict`'s fingerprint. */
  scoringEnvironment?(opts: { readonly backend: BackendChoice }): JsonObject;
  describe(model: StoredModel): Promise<ModelDescription>;
  /**
   * The kind's own importance of each feature measured on labelled rows (trees: the total split
   * gain), for the `importance` stage beside the permutation importance any model has. Optional.
   */
  importance?(model: StoredModel, data: LabeledData): Promise<FeatureImportance>;
  /**
   * The whole model as one portable JSON document (structure and every number, no blobs), for
   * export to other tools. Optional: a kind without it cannot be exported.
   */
  readonly export?: (model: StoredModel) => Promise<JsonObject>;
  /**
   * The model as ONNX nodes in `g`, reading the raw features `input.name` ([N, features] float32,
   * in the model's feature order) through the model's preprocessing `input.preprocess`; returns
   * the name of the probability tensor [N, 1]. Tensor names the kind chooses start with
   * `input.prefix` (folds share a graph). Optional: a kind without it cannot be exported to ONNX.
   */
  readonly onnx?: (model: StoredModel, g: OnnxGraph, input: OnnxInput) => Promise<string>;
  /** How kfold runs this kind's folds; without it, one after another on up to `jobs` threads. */
  foldExecution?(
    spec: S,
    ctx: PlanContext & { readonly trainRows: number; readonly jobs: number },
  ): Promise<FoldExecution>;
}

export interface OnnxInput {
  readonly name: string;
  readonly preprocess: readonly FittedScaler[];
  readonly prefix: string;
}

/** A kind with its spec type erased, as registries hold them (methods are bivariant). */
export type AnyModelKind = ModelKind<ModelSpecValue>;

/** Identity helper that keeps `S` inferred from the spec schema. */
export function defineModelKind<S extends ModelSpecValue>(kind: ModelKind<S>): ModelKind<S> {
  return kind;
}
