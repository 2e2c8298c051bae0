/**
 * Quiver's programmatic API (the package's main export): load a pipeline, then run, plan, verify,
 * sweep, compare, share and inspect it — the same operations the `quiver` command runs, with typed
 * options and results. Nothing here prints or exits; every decision arrives as an event through
 * `onEvent` and in the result. See docs/api.md.
 *
 *   import { loadPipeline, run, status } from "quiver-hep";
 */
import type { JsonValue } from "./core/json.js";
import type { Registry } from "./engine/pipeline/validate.js";
import { exec as execOp, type ExecOptions, type ExecReport } from "./ops/exec.js";
import { loadPipeline as load, type Pipeline } from "./ops/load.js";
import {
  planSweep as plan,
  runSweep,
  type SweepOptions,
  type SweepPlan,
  type SweepReport,
} from "./ops/sweep.js";
import { registry as builtinStages } from "./stages/index.js";

/** Every stage type that comes with Quiver, by its YAML `type:` name. Extend it for your own stages. */
export const registry: Registry = builtinStages;

export interface LoadOptions {
  /** Stage types the pipeline may use (default: Quiver's own, `registry`). */
  readonly registry?: Registry;
  /** Param values that override the pipeline's; `seed` sets the pipeline seed. */
  readonly params?: Readonly<Record<string, JsonValue>>;
  /** A YAML file of param values (`params` wins over it). */
  readonly paramsFile?: string;
  /**
   * Accept `data_roots:` that reach the home folder, a hidden folder in it or system folders (a
   * warning then); without it they are an error (`QV_DATA_ROOT_OUTSIDE`).
   */
  readonly allowDataRoots?: boolean;
}

/** Reads, parses and validates a pipeline file; throws PipelineError with every problem found. */
export function loadPipeline(file: string, opts: LoadOptions = {}): Pipeline {
  return load(file, { ...opts, registry: opts.registry ?? registry });
}

/** Plans a parameter sweep (what each point finds cached, what points share). Runs nothing. */
export function planSweep(
  file: string,
  opts: Omit<SweepOptions, "registry"> & { readonly registry?: Registry },
): Promise<SweepPlan> {
  return plan(file, { ...opts, registry: opts.registry ?? registry });
}

/** Plans and runs a parameter sweep. */
export async function sweep(
  file: string,
  opts: Omit<SweepOptions, "registry"> & { readonly registry?: Registry },
): Promise<SweepReport> {
  return runSweep(await planSweep(file, opts));
}

/** Runs one stage job written to a store by another process (what `quiver exec` does). */
export function exec(
  opts: Omit<ExecOptions, "registry"> & { readonly registry?: Registry },
): Promise<ExecReport> {
  return execOp({ ...opts, registry: opts.registry ?? registry });
}

export { run, status } from "./ops/run.js";
export type {
  LockOutcome,
  PlannedLine,
  PlanOptions,
  RunOptions,
  RunReport,
  StatusOptions,
  StatusReport,
} from "./ops/run.js";
export { verify } from "./ops/verify.js";
export type { Verdict, VerifyOptions, VerifyReport } from "./ops/verify.js";
export { runSweep };
export type {
  MetricCell,
  MetricColumn,
  PointResult,
  SweepOptions,
  SweepPlan,
  SweepReport,
  SweepTable,
} from "./ops/sweep.js";
export { diff } from "./ops/diff.js";
export type { DiffOptions, DiffReport, StageDiffState } from "./ops/diff.js";
export { pull, push } from "./ops/share.js";
export type { ShareOptions, ShareReport } from "./ops/share.js";
export { clean, gc } from "./ops/gc.js";
export type { CleanReport, GcOptions, GcReport } from "./ops/gc.js";
export { dag, exportResult, show } from "./ops/inspect.js";
export type { DagFormat, ExportOptions, ResultOptions, StoredOutput } from "./ops/inspect.js";
export { presentResult, results } from "./ops/present.js";
export type { PresentedResult, PresentOptions, ResultsReport } from "./ops/present.js";
export { report } from "./ops/report.js";
export type { ReportOptions, ReportResult } from "./ops/report.js";
export type { ExecOptions, ExecReport, Pipeline, Registry };
export { OpError, PipelineError, UsageError } from "./ops/errors.js";
export { findStores, locateStores, storeDir } from "./ops/store.js";
export { parseGrid } from "./engine/sweep.js";
export type { GridAxis, GridPoint } from "./engine/sweep.js";
export { runnerNames } from "./engine/runners/index.js";
export type {
  JobEvent,
  RunnerContext,
  RunnerOptions,
  RunnerResult,
  StageRunner,
} from "./engine/runners/index.js";
export type { Change, EngineEvent, EventSink, RunReason, SkipReason } from "./engine/events.js";
export type { StageOutcome, StageStatus } from "./engine/scheduler.js";
export type { PipelineSpec, StageSpec } from "./engine/pipeline/spec.js";
export { renderDiagnostic, renderDiagnostics } from "./core/diagnostics.js";
export type { Diagnostic, Severity, SourceLocation } from "./core/diagnostics.js";
export type { CacheKey, ContentHash } from "./core/hash.js";
export type { JsonObject, JsonValue } from "./core/json.js";
export { defineStage, metrics, model, StageError, table } from "./core/stage.js";
export type {
  AnyStageDefinition,
  ArtifactValue,
  PresentContext,
  StageContext,
  StageDefinition,
  StageResult,
} from "./core/stage.js";
export type {
  Axis,
  Block,
  Cell,
  Figure,
  PlotBlock,
  Presentation,
  Quantity,
  Series,
  TableBlock,
  Verdict as FigureVerdict,
} from "./core/present.js";
export { p } from "./core/schema.js";
export type { Column, Table } from "./core/table.js";
