/**
 * The contract between the engine and a stage. A stage is one typed definition: its ports with
 * their kinds, its parameter schema (with defaults), and `run`. The engine knows nothing else
 * about what a stage computes.
 *
 * Stage files must import heavy libraries (tfjs, h5wasm, ...) lazily inside `run`, so that
 * planning a fully cached pipeline never pays for them.
 */
import type { JsonObject, JsonValue } from "./json.js";
import type { PhysicalTable, Presentation } from "./present.js";
import type { ParamPath, Schema } from "./schema.js";
import type { ConsumedTable, Table } from "./table.js";

export type PortKind = "table" | "model" | "metrics";

export interface PortSpec {
  readonly kind: PortKind;
  readonly description: string;
  /** An optional input may be left unconnected. Outputs are always produced. */
  readonly optional?: boolean;
  /** For outputs: leaving it unconsumed is normal (no "unused output" warning), e.g. an empty validation split. */
  readonly usageOptional?: boolean;
  /**
   * For table outputs: the rows are those of whichever of these input ports is connected, in the
   * same order, with some columns' values rescaled (standardised, min-max). Presentations then
   * draw the input's values, in the columns' physical units.
   */
  readonly rescales?: readonly string[];
}

/**
 * A trained model as the store keeps it: a JSON description plus named binary blobs (weights).
 * The stage that wrote it is the only one that interprets it.
 */
export interface ModelArtifact {
  readonly meta: JsonObject;
  readonly blobs: Readonly<Record<string, Uint8Array>>;
}

export type ArtifactValue =
  | { readonly kind: "table"; readonly table: Table }
  | { readonly kind: "model"; readonly model: ModelArtifact }
  | { readonly kind: "metrics"; readonly metrics: JsonObject };

export const table = (t: Table): ArtifactValue => ({ kind: "table", table: t });
export const model = (m: ModelArtifact): ArtifactValue => ({ kind: "model", model: m });
export const metrics = (m: JsonObject): ArtifactValue => ({ kind: "metrics", metrics: m });

export interface StageInputs {
  has(port: string): boolean;
  table(port: string): Table;
  /**
   * The table on `port` for a stage that rewrites it column by column (select, scale, roc keeping
   * only what it reads): the job lets go of its own reference and `release(column)` drops a column
   * the stage is done with. The engine drops its in-memory hand-off of a value once its last
   * consumer holds it, so a row-wise stage peaks near one table rather than input plus output.
   * Where another consumer still holds the table, releasing frees nothing and costs nothing.
   * After `consume`, `table(port)` is a bug.
   */
  consume(port: string): ConsumedTable;
  model(port: string): ModelArtifact;
  metrics(port: string): JsonObject;
}

export interface StageContext<P> {
  readonly stageId: string;
  readonly params: P;
  /** Derived by the engine from the pipeline seed and the stage id (or the stage's own `seed:`). */
  readonly seed: number;
  readonly inputs: StageInputs;
  /** Absolute path of a `file` param value (already resolved, confined and hashed by the engine). */
  file(path: string): string;
  /**
   * The files a `file` param value stands for, as written relative to the pipeline, sorted: the
   * matches of a glob (`data/*.root`), or the path itself. Each one is a valid `file()` argument.
   */
  files(pattern: string): readonly string[];
  /** Reports progress of a long stage: fraction in [0, 1] and a short line of text. */
  progress(fraction: number, message?: string): void;
  /** A note for the run summary and the console (e.g. "12 rows with missing values"). */
  note(message: string): void;
  /** For each connected input port, the `stage.port` it comes from (part of the fingerprint). */
  readonly inputFrom: Readonly<Record<string, string>>;
  /**
   * Caches a sub-computation (one fold, one tree ensemble, ...) in the store under a key built from
   * `key` plus this stage's type and version, so a rerun that changes only some parts (k from 5 to
   * 6, one more seed) recomputes only those. `key` must include everything the result depends on.
   */
  memo(key: JsonValue, compute: () => Promise<ArtifactValue>): Promise<ArtifactValue>;
  /** How many threads/processes this stage may use. */
  readonly jobs: number;
  readonly signal: AbortSignal;
}

export interface StageResult {
  readonly outputs: Readonly<Record<string, ArtifactValue>>;
  /**
   * Small facts about the run shown by `status`, `show` and reports (row counts, backend, ...).
   * `summary.lineage` (column -> step) lists the lineage steps the stage wrote, so that a later
   * error naming a step (StageError `marks`) can say which stage wrote it and where it is defined.
   */
  readonly summary?: JsonObject;
}

/** Where an exported output came from; exporters write it into the file (ONNX metadata, JSON header). */
export interface ExportProvenance {
  readonly pipeline: string;
  readonly stage: string;
  readonly port: string;
  /** The cache key of the stage run that produced the output. */
  readonly cacheKey: string;
  readonly quiverVersion: string;
}

export interface ExportRequest {
  /** The target file's extension, lower case, without the dot: "onnx", "json". */
  readonly format: string;
  readonly provenance: ExportProvenance;
  /** Numeric format options from the command line (e.g. `opset`). */
  readonly options: Readonly<Record<string, number>>;
}

/** How one output leaves Quiver in formats other tools read (e.g. a model as ONNX). */
export interface OutputExporter {
  /** The file extensions it writes, without the dot. */
  readonly formats: readonly string[];
  write(value: ArtifactValue, req: ExportRequest): Promise<Uint8Array>;
}

/** A parameter-level problem found before running (beyond the schema), e.g. an expression that does not parse. */
export interface ParamProblem {
  readonly path: ParamPath;
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  /** Offset and length within the string value at `path`, to point inside an expression. */
  readonly offset?: number;
  readonly length?: number;
  readonly severity?: "error" | "warning";
}

export interface PresentContext<P> {
  readonly stageId: string;
  /** The params the stage ran with. */
  readonly params: P;
  /** `figures`: only the figures are used (the console after a run): skip everything else. */
  readonly detail: "figures" | "full";
  /** An output of this stage's stored result; undefined when it is not in the store. */
  output(port: string): Promise<ArtifactValue | undefined>;
  /** The object an input port read; undefined when it is no longer in the store. */
  input(port: string): Promise<ArtifactValue | undefined>;
  /**
   * An input table with every column that was rescaled upstream (by a stage whose output port
   * declares `rescales`) replaced by its values before the rescaling, same rows in the same order.
   */
  physicalInput(port: string): Promise<PhysicalTable | undefined>;
  /** The unit of a column, from the pipeline's `units:` (for axes; never part of a cache key). */
  unit(column: string): string | undefined;
  /** Columns that name the sample (process) of each row, in order of preference. */
  readonly sampleColumns: readonly string[];
  /** The stage's run summary (row counts, trainer, ...). */
  readonly summary: JsonObject;
  /**
   * A value computed once per report (or `show`) and shared by every stage's presentation, e.g.
   * the plots of an input table that several models read. `key` must name everything it depends on.
   */
  once<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

export interface StageDefinition<P> {
  /** The name used in YAML `type:`. */
  readonly type: string;
  /** Bump when the stage's results change for the same params and inputs: it invalidates caches. */
  readonly version: number;
  readonly description: string;
  readonly inputs: Readonly<Record<string, PortSpec>>;
  readonly outputs: Readonly<Record<string, PortSpec>>;
  readonly params: Schema<P>;
  /** True when results depend on the seed; only then does the seed enter the fingerprint. */
  readonly random?: boolean;
  /** Checks beyond the schema that need no data (parse expressions, cross-field rules). */
  check?(params: P): ParamProblem[];
  /**
   * The params as they enter the fingerprint, when that differs from the validated params: e.g.
   * expressions in canonical form, so `pt>20` and `pt > 20` share a cache key. Defaults to params.
   */
  fingerprintParams?(params: P): JsonValue;
  /**
   * Facts outside params and inputs that change results (e.g. the training backend). They enter
   * the fingerprint; a change of backend is a cache miss, never a silent reuse.
   */
  environment?(params: P): Promise<JsonValue>;
  run(ctx: StageContext<P>): Promise<StageResult>;
  /**
   * What the report and `show` draw and print for this stage's results, as data (core/present.ts):
   * headline figures, tables, plots. Reads outputs and inputs through `ctx`, lazily. Ports it does
   * not show get their kind's default view. Import plotting helpers inside the hook, like `run`.
   */
  present?(ctx: PresentContext<P>): Promise<Presentation>;
  /**
   * Exporters of outputs, by port, for `quiver export`: only the stage knows what its artifacts
   * hold (a model's kinds). Outputs without one are exported in their stored form.
   */
  readonly exporters?: Readonly<Record<string, OutputExporter>>;
}

/** The registry stores definitions with their param type erased (methods are bivariant). */
export type AnyStageDefinition = StageDefinition<unknown>;

/** Identity helper that keeps `P` inferred from the params schema. */
export function defineStage<P>(def: StageDefinition<P>): StageDefinition<P> {
  return def;
}

/**
 * An error a stage raises about the user's data or parameters. The engine renders it as a
 * diagnostic: with a YAML position when `param` is given (and an offset inside an expression),
 * and with the file/row/column of the data when `data` is given. `marks` are lineage steps the
 * message names: the engine adds a note for each, located at the upstream stage that wrote it (the
 * nearest one whose `summary.lineage` lists it). Any other exception is a bug.
 */
export class StageError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly param: ParamPath | undefined;
  readonly offset: number | undefined;
  readonly length: number | undefined;
  readonly data: { readonly file?: string; readonly row?: number; readonly column?: string } | undefined;
  readonly marks: readonly string[] | undefined;
  constructor(
    code: string,
    message: string,
    opts: {
      hint?: string;
      param?: ParamPath;
      offset?: number;
      length?: number;
      data?: { file?: string; row?: number; column?: string };
      marks?: readonly string[];
    } = {},
  ) {
    super(message);
    this.name = "StageError";
    this.code = code;
    this.hint = opts.hint;
    this.param = opts.param;
    this.offset = opts.offset;
    this.length = opts.length;
    this.data = opts.data;
    this.marks = opts.marks;
  }
}
