/**
 * `quiver sweep PIPELINE --grid lr=0.001,0.003 --grid seed=420..424`: arguments and printing; the
 * sweep itself is ops/sweep.ts. The plan comes first, the metrics table last.
 */
import os from "node:os";
import { renderDiagnostics } from "../core/diagnostics.js";
import type { Registry } from "../engine/pipeline/validate.js";
import {
  fmtMeanStd,
  fmtNum,
  formatParams,
  GridError,
  parseGrid,
  pointLabel,
  type GridAxis,
} from "../engine/sweep.js";
import { planSweep, runSweep, SweepPointError, type SweepReport } from "../ops/sweep.js";
import { executorOf, executorOpts, intOpt, paramOptions, parse, pipelineOpts, UsageError } from "./args.js";
import { fmtMs, printWarning } from "./console.js";
import { interruptible } from "./interrupt.js";
import { dataRootsOf, displayPath, emitJson, errColor, type Io } from "./load.js";
import { PipelineError } from "../ops/errors.js";

export async function cmdSweep(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...pipelineOpts,
    grid: { type: "string", multiple: true },
    metric: { type: "string", multiple: true },
    jobs: { type: "string", short: "j" },
    ...executorOpts,
    "dry-run": { type: "boolean", short: "n" },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1 || !values.grid?.length)
    throw new UsageError("usage: quiver sweep PIPELINE.yaml --grid NAME=V1,V2 [--grid NAME=A..B] [options]");
  let grid: GridAxis[];
  try {
    grid = parseGrid(values.grid);
  } catch (err) {
    if (err instanceof GridError) throw new UsageError(err.message);
    throw err;
  }
  const { problems, ...overrides } = paramOptions(values);
  if (problems.length) throw new PipelineError(problems, () => undefined);
  const jobs = intOpt(values.jobs, "jobs", os.availableParallelism());
  let plan;
  try {
    plan = await planSweep(file, {
      registry,
      grid,
      ...overrides,
      ...(values.metric ? { metrics: values.metric } : {}),
      ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
      jobs,
      dataRoots: dataRootsOf(values),
      allowDataRoots: values["allow-data-roots"] === true,
      ...executorOf(values),
      onEvent: (e) => printWarning(io, e),
    });
  } catch (err) {
    if (err instanceof SweepPointError) {
      io.err(renderDiagnostics(err.diagnostics, err.sources, errColor(io)));
      io.err(`(while loading sweep point ${err.point})`);
      return 2;
    }
    throw err;
  }
  // Warnings are the same for every point: shown once.
  if (plan.warnings.length) io.err(renderDiagnostics(plan.warnings, plan.sources, errColor(io)));
  const base = plan.points[0]!.pipeline.spec;
  io.out(
    `quiver sweep ${displayPath(file)} · ${plan.points.length} point${plan.points.length === 1 ? "" : "s"} · ${jobs} job${jobs === 1 ? "" : "s"}`,
  );
  const swept = new Set(Object.keys(plan.points[0]!.values));
  io.out(`grid: ${values.grid.join(" × ")}`);
  const pl = formatParams(base, swept);
  if (pl) io.out(pl.replace(/^params: /, "other params: "));
  const width = Math.max(5, ...plan.points.map((p) => pointLabel(p.values).length));
  io.out(`  ${"point".padEnd(width)}  cached  to run`);
  for (const p of plan.points)
    io.out(
      `  ${pointLabel(p.values).padEnd(width)}  ${String(p.cached).padStart(6)}  ${String(p.toRun).padStart(6)}`,
    );
  io.out(
    `shared: ${plan.shared.length ? `${plan.shared.join(", ")} run once for the points that share them` : "no stage to run is shared between points"}`,
  );
  io.out(
    `work: ${plan.work} stage run(s) instead of ${plan.naive} point by point; estimated ${plan.estimateMs !== undefined ? fmtMs(plan.estimateMs) : "?"}${plan.unknownDurations ? ` (+ ${plan.unknownDurations} stage run(s) with no recorded duration)` : ""}`,
  );
  if (values["dry-run"]) return 0;

  const { value: report, interrupted } = await interruptible(io, (signal) =>
    runSweep(plan, {
      signal,
      onPoint: (r) => {
        io.out(
          `  ${r.result.ok ? "✓" : "✗"} ${pointLabel(r.point.values).padEnd(width)}  ${r.ran} ran, ${r.cached} cached in ${fmtMs(r.durationMs)}`,
        );
        for (const e of r.events)
          if (e.type === "failed") io.err(e.diagnostics.map((d) => `  ${d.code}: ${d.message}`).join("\n"));
      },
    }),
  );
  io.out(
    `${report.failed ? `${report.failed} point(s) failed` : "done"}: ${plan.points.length} points in ${fmtMs(report.durationMs)}`,
  );
  printTable(io, report, values.json === true);
  return interrupted ? 130 : report.failed ? 1 : 0;
}

function printTable(io: Io, report: SweepReport, json: boolean): void {
  const { columns, rows, seedSwept } = report.table;
  if (json) {
    emitJson(io, {
      type: "sweep-metrics",
      failed: report.failed,
      durationMs: report.durationMs,
      seedSwept,
      columns: columns.map((c) => c.label),
      rows: rows.map((r) => ({ point: r.label, cells: r.cells })),
    });
    return;
  }
  if (!columns.length) {
    io.out("no metrics to tabulate (no final stage has metrics that vary; choose with --metric STAGE.PATH)");
    return;
  }
  const cellText = rows.map((r) =>
    r.cells.map((m) => (m ? (seedSwept ? fmtMeanStd(m) : fmtNum(m.mean)) : "—")),
  );
  const w0 = Math.max(5, ...rows.map((r) => r.label.length));
  const ws = columns.map((c, j) => Math.max(c.label.length, ...cellText.map((r) => r[j]!.length)));
  io.out(`\n${seedSwept ? "mean ± std over seeds" : "metrics per point"}`);
  io.out(`  ${"point".padEnd(w0)}  ${columns.map((c, j) => c.label.padStart(ws[j]!)).join("  ")}`);
  rows.forEach((r, i) =>
    io.out(`  ${r.label.padEnd(w0)}  ${cellText[i]!.map((t, j) => t.padStart(ws[j]!)).join("  ")}`),
  );
}
