/**
 * `quiver sweep PIPELINE --grid lr=0.001,0.003 --grid seed=420..424`: every grid point is the
 * pipeline with those params set, run on one store. Stages whose fingerprint is the same across
 * points are one cache entry, so they run once (single-flight locks make concurrent points wait
 * for each other instead of computing twice). The plan comes first, the metrics table last.
 */
import os from "node:os";
import path from "node:path";
import type { Store } from "../cache/store.js";
import type { EngineEvent } from "../engine/events.js";
import { runPipeline, type RunResult } from "../engine/executor.js";
import { downstreamOf } from "../engine/graph.js";
import { lastRunRecordName, readLastRun } from "../engine/history.js";
import type { JsonValue } from "../core/json.js";
import { headlineMetrics, readMetricsObject } from "../engine/lock-file.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import type { Registry } from "../engine/pipeline/validate.js";
import {
  fmtMeanStd,
  fmtNum,
  formatParams,
  GridError,
  gridPoints,
  meanStd,
  metricAt,
  parseGrid,
  parseMetricRef,
  pointAsSets,
  pointLabel,
  stageSignatures,
  type GridPoint,
} from "../engine/sweep.js";
import { intOpt, parse, pipelineOpts, UsageError } from "./args.js";
import { fmtMs } from "./console.js";
import { displayPath, loadPipeline, openStore, storeDir, type Io } from "./load.js";
import { keysOf } from "./share.js";

export function sweepRecordName(pipeline: string): string {
  return `sweep-${pipeline}`;
}

interface Point {
  readonly index: number;
  readonly values: GridPoint;
  readonly spec: PipelineSpec;
  result?: RunResult;
  durationMs?: number;
}

interface Column {
  readonly label: string;
  readonly stage: string;
  readonly port: string;
  readonly path: readonly string[];
}

export async function cmdSweep(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...pipelineOpts,
    grid: { type: "string", multiple: true },
    metric: { type: "string", multiple: true },
    jobs: { type: "string", short: "j" },
    "dry-run": { type: "boolean", short: "n" },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1 || !values.grid?.length)
    throw new UsageError("usage: quiver sweep PIPELINE.yaml --grid NAME=V1,V2 [--grid NAME=A..B] [options]");
  let points: Point[];
  try {
    const axes = parseGrid(values.grid);
    const grid = gridPoints(axes);
    points = [];
    for (const [index, p] of grid.entries()) {
      // Warnings are the same for every point: show them once.
      const quiet: Io = { out: () => {}, err: () => {}, color: false };
      const sets = [...(values.set ?? []), ...pointAsSets(p)];
      const opts = { set: sets, ...(values.params ? { paramsFilePath: values.params } : {}) };
      const loaded =
        loadPipeline(file, registry, opts, index === 0 ? io : quiet) ??
        loadPipeline(file, registry, opts, io);
      if (!loaded) {
        io.err(`(while loading sweep point ${pointLabel(p)})`);
        return 2;
      }
      points.push({ index, values: p, spec: loaded.spec });
    }
  } catch (err) {
    if (err instanceof GridError) throw new UsageError(err.message);
    throw err;
  }
  const base = points[0]!.spec;
  const jobs = intOpt(values.jobs, "jobs", os.availableParallelism());
  const { store, memo } = await openStore(storeDir(file, values["cache-dir"]), io);
  const columns = (values.metric ?? []).map((m): Column => {
    try {
      const r = parseMetricRef(m, base);
      return { label: m, ...r };
    } catch (err) {
      if (err instanceof GridError) throw new UsageError(err.message);
      throw err;
    }
  });
  const dataRoots = (values["data-root"] ?? []).map((r) => path.resolve(r));

  // The plan: per point, cached vs to run; across points, which stages are one piece of work.
  const savedLast = await readLastRun(store, base.name);
  const durations = new Map<string, number>();
  for (const [id, s] of Object.entries(savedLast?.stages ?? {}))
    if (s.durationMs !== undefined) durations.set(id, s.durationMs);
  const units = new Map<string, { stage: string; points: number; cached: boolean }>();
  const perPoint: { cached: number; toRun: number }[] = [];
  for (const pt of points) {
    const events: EngineEvent[] = [];
    await runPipeline({
      spec: pt.spec,
      store,
      jobs,
      emit: (e) => events.push(e),
      fileMemo: memo,
      dryRun: true,
      dataRoots,
    });
    const sigs = stageSignatures(pt.spec);
    let cached = 0;
    for (const e of events) {
      if (e.type !== "planned") continue;
      if (e.decision === "cached") cached++;
      const sig = e.key ?? sigs.get(e.stage)!;
      const u = units.get(sig) ?? { stage: e.stage, points: 0, cached: e.decision === "cached" };
      u.points++;
      units.set(sig, u);
    }
    perPoint.push({ cached, toRun: pt.spec.order.length - cached });
  }
  const toRun = [...units.values()].filter((u) => !u.cached);
  const shared = [...new Set(toRun.filter((u) => u.points > 1).map((u) => u.stage))];
  const naive = perPoint.reduce((a, p) => a + p.toRun, 0);
  const known = toRun.filter((u) => durations.has(u.stage));
  const estimate =
    known.reduce((a, u) => a + durations.get(u.stage)!, 0) / Math.max(1, Math.min(jobs, points.length));
  const never = toRun.length - known.length;

  io.out(
    `quiver sweep ${displayPath(file)} · ${points.length} point${points.length === 1 ? "" : "s"} · ${jobs} job${jobs === 1 ? "" : "s"}`,
  );
  const swept = new Set(Object.keys(points[0]!.values));
  io.out(`grid: ${values.grid.join(" × ")}`);
  const pl = formatParams(base, swept);
  if (pl) io.out(pl.replace(/^params: /, "other params: "));
  const width = Math.max(5, ...points.map((p) => pointLabel(p.values).length));
  io.out(`  ${"point".padEnd(width)}  cached  to run`);
  points.forEach((p, i) =>
    io.out(
      `  ${pointLabel(p.values).padEnd(width)}  ${String(perPoint[i]!.cached).padStart(6)}  ${String(perPoint[i]!.toRun).padStart(6)}`,
    ),
  );
  io.out(
    `shared: ${shared.length ? `${shared.join(", ")} run once for the points that share them` : "no stage to run is shared between points"}`,
  );
  io.out(
    `work: ${toRun.length} stage run(s) instead of ${naive} point by point; estimated ${known.length ? fmtMs(estimate) : "?"}${never ? ` (+ ${never} stage run(s) with no recorded duration)` : ""}`,
  );
  if (values["dry-run"]) return 0;

  // Run: up to `jobs` points at once, one stage at a time each; shared stages are single-flight.
  const t0 = performance.now();
  const concurrency = Math.max(1, Math.min(jobs, points.length));
  let next = 0;
  let failed = 0;
  const worker = async () => {
    for (let i = next++; i < points.length; i = next++) {
      const pt = points[i]!;
      const started = performance.now();
      const evs: EngineEvent[] = [];
      pt.result = await runPipeline({
        spec: pt.spec,
        store,
        jobs: Math.max(1, Math.floor(jobs / concurrency)),
        emit: (e) => evs.push(e),
        fileMemo: memo,
        dataRoots,
      });
      pt.durationMs = performance.now() - started;
      const ran = evs.filter((e) => e.type === "finished").length;
      const cached = evs.filter((e) => e.type === "cached").length;
      if (!pt.result.ok) failed++;
      io.out(
        `  ${pt.result.ok ? "✓" : "✗"} ${pointLabel(pt.values).padEnd(width)}  ${ran} ran, ${cached} cached in ${fmtMs(pt.durationMs)}`,
      );
      for (const e of evs)
        if (e.type === "failed") io.err(e.diagnostics.map((d) => `  ${d.code}: ${d.message}`).join("\n"));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  // A sweep is not "the latest run" of the pipeline: status keeps comparing against that.
  if (savedLast) await store.writeRecord(lastRunRecordName(base.name), savedLast);
  await recordSweep(store, base.name, points);
  io.out(
    `${failed ? `${failed} point(s) failed` : "done"}: ${points.length} points in ${fmtMs(performance.now() - t0)}`,
  );

  const cols = columns.length ? columns : await defaultColumns(store, base, points);
  await printTable(io, store, points, cols, values.json === true);
  return failed ? 1 : 0;
}

async function recordSweep(store: Store, pipeline: string, points: readonly Point[]): Promise<void> {
  const stages: Record<string, { key: string }> = {};
  const list = points.map((p) => {
    const keys = p.result ? keysOf(p.result) : {};
    for (const [id, key] of Object.entries(keys)) stages[`${p.index}/${id}`] = { key };
    return { point: p.values, keys };
  });
  // `stages` has the shape gc reads from run records: every point's results stay collectable-safe.
  await store.writeRecord(sweepRecordName(pipeline), { pipeline, points: list, stages });
}

async function metricsOf(
  store: Store,
  p: Point,
  stage: string,
  port: string,
): Promise<JsonValue | undefined> {
  const ref = p.result?.outcomes.get(stage)?.outputs?.[port];
  return ref ? readMetricsObject(store, ref) : undefined;
}

/** The headline metrics of the final stages that change across points (at most six). */
async function defaultColumns(store: Store, spec: PipelineSpec, points: readonly Point[]): Promise<Column[]> {
  const finals = spec.order.filter((id) => downstreamOf(spec.graph, id).length === 0);
  const found: (Column & { score: number })[] = [];
  for (const stage of finals) {
    const ports = Object.entries(spec.stages.get(stage)!.def.outputs).filter(([, o]) => o.kind === "metrics");
    for (const [port] of ports) {
      const seen = new Map<string, Set<number>>();
      for (const p of points) {
        const v = await metricsOf(store, p, stage, port);
        if (v === undefined) continue;
        for (const [k, x] of Object.entries(headlineMetrics(v, ""))) {
          const s = seen.get(k) ?? new Set<number>();
          s.add(x);
          seen.set(k, s);
        }
      }
      for (const [k, s] of seen) {
        if (s.size < 2 && points.length > 1) continue;
        const label = ports.length > 1 ? `${stage}.${port}.${k}` : `${stage}.${k}`;
        const leaf = k.split(".").pop() ?? k;
        const score =
          (/^(auc|z|accuracy|val_auc|val_accuracy|significance|loss|val_loss)$/.test(leaf) ? 0 : 10) +
          k.split(".").length;
        found.push({ label, stage, port, path: k.split("."), score });
      }
    }
  }
  return found.sort((a, b) => a.score - b.score || (a.label < b.label ? -1 : 1)).slice(0, 6);
}

async function printTable(
  io: Io,
  store: Store,
  points: readonly Point[],
  cols: readonly Column[],
  json: boolean,
): Promise<void> {
  if (!cols.length) {
    io.out("no metrics to tabulate (no final stage has metrics that vary; choose with --metric STAGE.PATH)");
    return;
  }
  const values: (number | undefined)[][] = [];
  for (const p of points) {
    const row: (number | undefined)[] = [];
    for (const c of cols) row.push(metricAt(await metricsOf(store, p, c.stage, c.port), c.path));
    values.push(row);
  }
  const seedSwept = points.some((p) => "seed" in p.values) && points.length > 1;
  const groups = new Map<string, number[]>();
  points.forEach((p, i) => {
    const label = seedSwept ? pointLabel(p.values, "seed") : pointLabel(p.values);
    groups.set(label, [...(groups.get(label) ?? []), i]);
  });
  const rows = [...groups].map(([label, idx]) => ({
    label: seedSwept
      ? `${label}${label === "(all)" ? "" : ""} (${idx.length} seed${idx.length === 1 ? "" : "s"})`
      : label,
    cells: cols.map((_, c) => {
      const xs = idx.map((i) => values[i]![c]).filter((x): x is number => x !== undefined);
      return xs.length ? meanStd(xs) : undefined;
    }),
  }));
  if (json) {
    io.out(
      JSON.stringify({
        type: "sweep-metrics",
        columns: cols.map((c) => c.label),
        rows: rows.map((r) => ({ point: r.label, cells: r.cells })),
      }),
    );
    return;
  }
  const cellText = rows.map((r) =>
    r.cells.map((m) => (m ? (seedSwept ? fmtMeanStd(m) : fmtNum(m.mean)) : "—")),
  );
  const w0 = Math.max(5, ...rows.map((r) => r.label.length));
  const ws = cols.map((c, j) => Math.max(c.label.length, ...cellText.map((r) => r[j]!.length)));
  io.out(`\n${seedSwept ? "mean ± std over seeds" : "metrics per point"}`);
  io.out(`  ${"point".padEnd(w0)}  ${cols.map((c, j) => c.label.padStart(ws[j]!)).join("  ")}`);
  rows.forEach((r, i) =>
    io.out(`  ${r.label.padEnd(w0)}  ${cellText[i]!.map((t, j) => t.padStart(ws[j]!)).join("  ")}`),
  );
}
