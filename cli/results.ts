/** `quiver results PIPELINE`: the headline figures of the latest run, as at the end of `run`. */
import type { Registry } from "../engine/pipeline/validate.js";
import { presentationJson } from "../core/present.js";
import { results, type ResultsReport } from "../ops/present.js";
import { common, parse, UsageError } from "./args.js";
import { printWarning } from "./console.js";
import { emitJson, loadPipeline, type Io } from "./load.js";
import { figuresText } from "./text.js";

/** The `results` document of --json (also the last event of `run --json`). */
export function resultsJson(r: ResultsReport): Record<string, unknown> {
  return {
    type: "results",
    pipeline: r.pipeline,
    at: r.at ?? null,
    stages: r.stages.map((s) => ({
      stage: s.stage,
      figures: presentationJson({ figures: s.figures, blocks: [] }).figures,
    })),
  };
}

export function printResults(io: Io, r: ResultsReport): void {
  if (!r.stages.length) {
    io.out("no stage reports headline figures");
    return;
  }
  io.out(`results of ${r.pipeline}${r.at ? ` (run ${r.at})` : ""}`);
  io.out(figuresText(r.stages, io.color));
}

export async function cmdResults(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...common });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError("usage: quiver results PIPELINE.yaml [--json]");
  const pipeline = loadPipeline(file, registry, {}, io);
  const r = await results(pipeline, {
    ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
    onEvent: (e) => printWarning(io, e),
  });
  if (values.json) emitJson(io, resultsJson(r));
  else printResults(io, r);
  return 0;
}
