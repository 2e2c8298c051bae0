/** `report`: one self-contained HTML file of a pipeline's latest run (see report/html.ts). */
import fs from "node:fs";
import path from "node:path";
import type { EngineEvent, EventSink } from "../engine/events.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import type { LastRun } from "../engine/records.js";
import { generateReport } from "../report/html.js";
import type { Pipeline } from "./load.js";
import { openStore, storeDir } from "./store.js";

export interface ReportOptions {
  readonly cacheDir?: string;
  /** Where to write it (default: NAME-report.html in the working directory). */
  readonly out?: string;
  /** The events of a run that just finished; otherwise the stored record of the latest run. */
  readonly run?: { readonly events: readonly EngineEvent[]; readonly previous: LastRun | undefined };
  readonly onEvent?: EventSink;
}

export interface ReportResult {
  readonly file: string;
  /** The ids of the plots drawn. */
  readonly plots: readonly string[];
  /** Why expected plots are missing. */
  readonly notes: readonly string[];
  readonly bytes: number;
  readonly durationMs: number;
}

export function defaultReportPath(spec: PipelineSpec): string {
  return `${spec.name.replace(/[^A-Za-z0-9_.-]/g, "_")}-report.html`;
}

/** Generates the report and writes it atomically (a reader never sees half a file). */
export async function report(pipeline: Pipeline, opts: ReportOptions = {}): Promise<ReportResult> {
  const t0 = performance.now();
  const { store } = await openStore(storeDir(pipeline.spec.file, opts.cacheDir), opts.onEvent);
  const r = await generateReport({ store, spec: pipeline.spec, ...(opts.run ? { run: opts.run } : {}) });
  const target = path.resolve(opts.out ?? defaultReportPath(pipeline.spec));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, r.html);
  fs.renameSync(tmp, target);
  return {
    file: target,
    plots: r.plots,
    notes: r.notes,
    bytes: Buffer.byteLength(r.html),
    durationMs: Math.round(performance.now() - t0),
  };
}
