/**
 * `sweep`: every point of a param grid is the pipeline with those params set, run on one store.
 * The pipeline file is parsed once and validated per point with typed overrides. Stages whose
 * fingerprint is the same across points are one cache entry, so they run once (single-flight locks
 * make concurrent points wait for each other instead of computing twice). A plan first (what each
 * point finds cached, which stages points share, an estimate from recorded durations), then the
 * run, then a metrics table with mean ± std over seeds when the seed is swept.
 *
 * Points are not "the latest run" of the pipeline: they run with `recordAsLatest: false`, and the
 * sweep record (`sweep-<name>`) keeps their results through gc.
 */
import os from "node:os";
import type { Store } from "../cache/store.js";
import type { CacheKey, FileHashMemo } from "../core/hash.js";
import type { JsonValue } from "../core/json.js";
import { meanStd } from "../core/stats.js";
import type { EngineEvent, EventSink } from "../engine/events.js";
import { downstreamOf } from "../engine/graph.js";
import { readLastRun } from "../engine/history.js";
import { headlineMetrics, readMetricsObject } from "../engine/lock-file.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { sweepRecord, writeRecord } from "../engine/records.js";
import { registerWriter, runPipeline, type RunResult } from "../engine/scheduler.js";
import {
  GridError,
  gridPoints,
  metricAt,
  parseMetricRef,
  pointLabel,
  stageSignatures,
  type GridAxis,
  type GridPoint,
} from "../engine/sweep.js";
import type { Diagnostic, SourceLookup } from "../core/diagnostics.js";
import { PipelineError, UsageError } from "./errors.js";
import { executorFor } from "./executor.js";
import { parsePipeline, readParamsFile, validateParsed, type Pipeline } from "./load.js";
import { keysOf } from "./lock.js";
import { openStore, storeDir } from "./store.js";

export interface SweepOptions {
  readonly registry: Registry;
  /** The grid: one axis per param (or `seed`), every combination a point. */
  readonly grid: readonly GridAxis[];
  /** Params set for every point (the grid's win over them). */
  readonly params?: Readonly<Record<string, JsonValue>>;
  readonly paramsFile?: string;
  /** Metrics to tabulate, `STAGE.PATH` (default: the headline metrics of the final stages that vary). */
  readonly metrics?: readonly string[];
  readonly cacheDir?: string;
  /** Points running at once (default: the number of cores). */
  readonly jobs?: number;
  readonly dataRoots?: readonly string[];
  /** Accept `data_roots:` reaching home or system folders (`--allow-data-roots`). */
  readonly allowDataRoots?: boolean;
  readonly executor?: string;
  readonly command?: readonly string[];
  /** Warnings of the store. */
  readonly onEvent?: EventSink;
}

/** A point of the grid makes the pipeline invalid (e.g. a value a param does not accept). */
export class SweepPointError extends PipelineError {
  constructor(
    readonly point: string,
    err: PipelineError,
  ) {
    super(err.diagnostics, err.sources);
    this.name = "SweepPointError";
  }
}

export interface SweepPoint {
  readonly index: number;
  readonly values: GridPoint;
  readonly pipeline: Pipeline;
  /** Planned: stages found cached, and to run. */
  readonly cached: number;
  readonly toRun: number;
}

export interface MetricColumn {
  readonly label: string;
  readonly stage: string;
  readonly port: string;
  readonly path: readonly string[];
}

export interface SweepPlan {
  readonly file: string;
  readonly grid: readonly GridAxis[];
  readonly points: readonly SweepPoint[];
  readonly jobs: number;
  /** Stages to run that several points share: each runs once. */
  readonly shared: readonly string[];
  /** Stage runs needed, against point by point. */
  readonly work: number;
  readonly naive: number;
  /** From recorded durations; undefined when none is known. */
  readonly estimateMs: number | undefined;
  /** Stage runs without a recorded duration. */
  readonly unknownDurations: number;
  readonly columns: readonly MetricColumn[] | undefined;
  /** Warnings of the pipeline (the same for every point). */
  readonly warnings: readonly Diagnostic[];
  readonly sources: SourceLookup;
  /** What a run needs; opaque to callers. */
  readonly context: { readonly store: Store; readonly memo: FileHashMemo; readonly options: SweepOptions };
}

/** Loads the points and plans them: what each finds cached, what they share. Runs nothing. */
export async function planSweep(file: string, opts: SweepOptions): Promise<SweepPlan> {
  const parsed = parsePipeline(file);
  const paramsFile = opts.paramsFile !== undefined ? readParamsFile(opts.paramsFile) : undefined;
  let grid: GridPoint[];
  try {
    grid = gridPoints(opts.grid);
  } catch (err) {
    if (err instanceof GridError) throw new UsageError(err.message);
    throw err;
  }
  const loaded = grid.map((values, index) => {
    try {
      const set = { ...opts.params, ...values };
      return {
        index,
        values,
        pipeline: validateParsed(parsed, opts.registry, { ...(paramsFile ? { paramsFile } : {}), set }, [], {
          allowDataRoots: opts.allowDataRoots === true,
        }),
      };
    } catch (err) {
      if (err instanceof PipelineError) throw new SweepPointError(pointLabel(values), err);
      throw err;
    }
  });
  const base = loaded[0]!.pipeline;
  const jobs = opts.jobs ?? os.availableParallelism();
  const { store, memo } = await openStore(storeDir(file, opts.cacheDir), opts.onEvent);
  const columns = opts.metrics?.map((m): MetricColumn => {
    try {
      return { label: m, ...parseMetricRef(m, base.spec) };
    } catch (err) {
      if (err instanceof GridError) throw new UsageError(err.message);
      throw err;
    }
  });

  const last = await readLastRun(store, base.spec.name);
  const durations = new Map<string, number>();
  for (const [id, s] of Object.entries(last?.stages ?? {}))
    if (s.durationMs !== undefined) durations.set(id, s.durationMs);
  const units = new Map<string, { stage: string; points: number; cached: boolean }>();
  const points: SweepPoint[] = [];
  for (const pt of loaded) {
    const events: EngineEvent[] = [];
    await runPipeline({
      spec: pt.pipeline.spec,
      store,
      jobs,
      emit: (e) => events.push(e),
      fileMemo: memo,
      dryRun: true,
      ...(opts.dataRoots ? { dataRoots: opts.dataRoots } : {}),
      runner: () => Promise.reject(new Error("a plan runs nothing")),
    });
    const sigs = stageSignatures(pt.pipeline.spec);
    let cached = 0;
    for (const e of events) {
      if (e.type !== "planned") continue;
      if (e.decision === "cached") cached++;
      const sig = e.key ?? sigs.get(e.stage)!;
      const u = units.get(sig) ?? { stage: e.stage, points: 0, cached: e.decision === "cached" };
      u.points++;
      units.set(sig, u);
    }
    points.push({ ...pt, cached, toRun: pt.pipeline.spec.order.length - cached });
  }
  const toRun = [...units.values()].filter((u) => !u.cached);
  const known = toRun.filter((u) => durations.has(u.stage));
  return {
    file,
    grid: opts.grid,
    points,
    jobs,
    shared: [...new Set(toRun.filter((u) => u.points > 1).map((u) => u.stage))],
    work: toRun.length,
    naive: points.reduce((a, p) => a + p.toRun, 0),
    estimateMs: known.length
      ? known.reduce((a, u) => a + durations.get(u.stage)!, 0) / Math.max(1, Math.min(jobs, points.length))
      : undefined,
    unknownDurations: toRun.length - known.length,
    columns,
    warnings: base.warnings,
    sources: base.sources,
    context: { store, memo, options: opts },
  };
}

export interface PointResult {
  readonly point: SweepPoint;
  readonly result: RunResult;
  readonly events: readonly EngineEvent[];
  readonly ran: number;
  readonly cached: number;
  readonly durationMs: number;
}

export interface MetricCell {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

export interface SweepTable {
  readonly columns: readonly MetricColumn[];
  /** One row per point, or per point of the other params with seeds pooled when seed is swept. */
  readonly rows: readonly { readonly label: string; readonly cells: readonly (MetricCell | undefined)[] }[];
  readonly seedSwept: boolean;
}

export interface SweepReport {
  readonly points: readonly PointResult[];
  readonly failed: number;
  readonly durationMs: number;
  readonly table: SweepTable;
}

/** Runs the planned points, up to `jobs` at once; `onPoint` hears of each as it finishes. */
export async function runSweep(
  plan: SweepPlan,
  opts: { onPoint?: (p: PointResult) => void; signal?: AbortSignal } = {},
): Promise<SweepReport> {
  const { store } = plan.context;
  // Registered for the whole sweep: gc must not take points' results before the sweep record
  // names them.
  const name = plan.points[0]?.pipeline.spec.name ?? "sweep";
  const leave = await registerWriter(store, () => {}, "sweep", name);
  try {
    return await sweepPoints(plan, opts);
  } finally {
    await leave();
  }
}

async function sweepPoints(
  plan: SweepPlan,
  opts: { onPoint?: (p: PointResult) => void; signal?: AbortSignal },
): Promise<SweepReport> {
  const { store, memo, options } = plan.context;
  const t0 = performance.now();
  // One runner for every point: one queue name, and the same stage of several points goes out as
  // one array. A batch system queues every point at once; here, points share the cores.
  const executor = await executorFor(options.executor, {
    jobs: plan.jobs,
    pipeline: plan.points[0]!.pipeline.spec.name,
    ...(options.command ? { command: options.command } : {}),
  });
  const concurrency = executor.batch
    ? plan.points.length
    : Math.max(1, Math.min(plan.jobs, plan.points.length));
  const perPoint = executor.batch ? plan.jobs : Math.max(1, Math.floor(plan.jobs / concurrency));
  const results: PointResult[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < plan.points.length; i = next++) {
      const point = plan.points[i]!;
      const started = performance.now();
      const events: EngineEvent[] = [];
      const result = await runPipeline({
        spec: point.pipeline.spec,
        store,
        jobs: perPoint,
        emit: (e) => events.push(e),
        fileMemo: memo,
        ...(options.dataRoots ? { dataRoots: options.dataRoots } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        runner: executor.runner,
        recordAsLatest: false,
      });
      const r: PointResult = {
        point,
        result,
        events,
        ran: events.filter((e) => e.type === "finished").length,
        cached: events.filter((e) => e.type === "cached").length,
        durationMs: performance.now() - started,
      };
      results[i] = r;
      opts.onPoint?.(r);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await executor.close();
  }
  await recordSweep(store, plan.points[0]!.pipeline.spec.name, results);
  const columns = plan.columns ?? (await defaultColumns(store, results));
  return {
    points: results,
    failed: results.filter((r) => !r.result.ok).length,
    durationMs: performance.now() - t0,
    table: await metricsTable(store, results, columns),
  };
}

async function recordSweep(store: Store, pipeline: string, results: readonly PointResult[]): Promise<void> {
  const stages: Record<string, { key: CacheKey }> = {};
  const points = results.map((r) => {
    const keys = keysOf(r.result);
    for (const [id, key] of Object.entries(keys)) stages[`${r.point.index}/${id}`] = { key };
    return { point: r.point.values, keys };
  });
  // `stages` has the shape gc reads from run records: every point's results stay collectable-safe.
  await writeRecord(store, sweepRecord, { pipeline, points, stages }, pipeline);
}

async function metricsOf(
  store: Store,
  r: PointResult,
  stage: string,
  port: string,
): Promise<JsonValue | undefined> {
  const ref = r.result.outcomes.get(stage)?.outputs?.[port];
  return ref ? readMetricsObject(store, ref) : undefined;
}

/** The headline metrics of the final stages that change across points (at most six). */
async function defaultColumns(store: Store, results: readonly PointResult[]): Promise<MetricColumn[]> {
  const spec = results[0]!.point.pipeline.spec;
  const finals = spec.order.filter((id) => downstreamOf(spec.graph, id).length === 0);
  const found: (MetricColumn & { score: number })[] = [];
  for (const stage of finals) {
    const ports = Object.entries(spec.stages.get(stage)!.def.outputs).filter(([, o]) => o.kind === "metrics");
    for (const [port] of ports) {
      const seen = new Map<string, Set<number>>();
      for (const r of results) {
        const v = await metricsOf(store, r, stage, port);
        if (v === undefined) continue;
        for (const [k, x] of Object.entries(headlineMetrics(v, ""))) {
          const s = seen.get(k) ?? new Set<number>();
          s.add(x);
          seen.set(k, s);
        }
      }
      for (const [k, s] of seen) {
        if (s.size < 2 && results.length > 1) continue;
        const label = ports.length > 1 ? `${stage}.${port}.${k}` : `${stage}.${k}`;
        const leaf = k.split(".").pop() ?? k;
        const score =
          (/^(auc|z|accuracy|val_auc|val_accuracy|significance|loss|val_loss)$/.test(leaf) ? 0 : 10) +
          k.split(".").length;
        found.push({ label, stage, port, path: k.split("."), score });
      }
    }
  }
  return found
    .sort((a, b) => a.score - b.score || (a.label < b.label ? -1 : 1))
    .slice(0, 6)
    .map(({ score: _score, ...c }) => c);
}

async function metricsTable(
  store: Store,
  results: readonly PointResult[],
  columns: readonly MetricColumn[],
): Promise<SweepTable> {
  const values: (number | undefined)[][] = [];
  for (const r of results) {
    const row: (number | undefined)[] = [];
    for (const c of columns) row.push(metricAt(await metricsOf(store, r, c.stage, c.port), c.path));
    values.push(row);
  }
  const seedSwept = results.some((r) => "seed" in r.point.values) && results.length > 1;
  const groups = new Map<string, number[]>();
  results.forEach((r, i) => {
    const label = seedSwept ? pointLabel(r.point.values, "seed") : pointLabel(r.point.values);
    groups.set(label, [...(groups.get(label) ?? []), i]);
  });
  const rows = [...groups].map(([label, idx]) => ({
    label: seedSwept ? `${label} (${idx.length} seed${idx.length === 1 ? "" : "s"})` : label,
    cells: columns.map((_, c) => {
      const xs = idx.map((i) => values[i]![c]).filter((x): x is number => x !== undefined);
      // Sample deviation (ddof 1): the spread a new seed would show, not these seeds' own.
      return xs.length ? meanStd(xs, 1) : undefined;
    }),
  }));
  return { columns, rows, seedSwept };
}
