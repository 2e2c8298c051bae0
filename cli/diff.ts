/** `quiver diff PIPELINE [--against REF] [--to REF]`: arguments and printing (see ops/diff.ts). */
import type { Registry } from "../engine/pipeline/validate.js";
import { fmtNum } from "../engine/sweep.js";
import { diff } from "../ops/diff.js";
import { parse, pipelineOpts, UsageError } from "./args.js";
import { printWarning } from "./console.js";
import { displayPath, emitJson, loadPipeline, type Io } from "./load.js";

export async function cmdDiff(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...pipelineOpts,
    against: { type: "string" },
    to: { type: "string" },
    all: { type: "boolean" },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw new UsageError("usage: quiver diff PIPELINE.yaml [--against REF] [--to REF]");
  const pipeline = loadPipeline(file, registry, { "allow-data-roots": values["allow-data-roots"] }, io);
  const r = await diff(pipeline, {
    ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
    ...(values.against !== undefined ? { against: values.against } : {}),
    ...(values.to !== undefined ? { to: values.to } : {}),
    onEvent: (e) => printWarning(io, e),
  });
  if (values.json) {
    emitJson(io, { type: "diff", against: r.against, a: r.a, b: r.b, stages: r.stages, metrics: r.metrics });
    return 0;
  }
  const width = Math.max(8, ...r.stages.map((s) => s.stage.length));
  io.out(`quiver diff ${displayPath(file)}: ${r.a} → ${r.b}`);
  if (values.against === undefined && r.against === "previous")
    io.out(
      "(the lock file holds the latest run's results, so this compares with the run before it; --against lock to compare with the lock)",
    );
  let differing = 0;
  for (const row of r.stages) {
    if (row.state !== "same") differing++;
    io.out(`  ${row.state === "same" ? "=" : "≠"} ${row.stage.padEnd(width)}  ${row.detail}`);
  }
  const rows = values.all ? r.metrics : r.metrics.filter((m) => m.a !== m.b);
  if (rows.length) {
    const w = Math.max(6, ...rows.map((m) => m.name.length));
    const wa = Math.max(r.a.length > 14 ? 14 : r.a.length, 10);
    io.out(`\n  ${"metric".padEnd(w)}  ${"before".padStart(wa)}  ${"after".padStart(wa)}  change`);
    for (const m of rows)
      io.out(
        `  ${m.name.padEnd(w)}  ${cell(m.a).padStart(wa)}  ${cell(m.b).padStart(wa)}  ${m.a !== undefined && m.b !== undefined ? signed(m.b - m.a) : ""}`,
      );
  } else io.out(values.all ? "\nno headline metrics" : "\nno headline metric differs (--all shows them all)");
  io.out(`${differing} of ${r.stages.length} stage(s) differ`);
  return 0;
}

const cell = (x: number | undefined) => (x === undefined ? "—" : fmtNum(x));
const signed = (d: number) => (d === 0 ? "0" : `${d > 0 ? "+" : "−"}${fmtNum(Math.abs(d))}`);
