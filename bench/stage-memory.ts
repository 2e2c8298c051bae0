/**
 * Where the scale pipeline's peak memory is: each stage of bench/chunked-pipeline.ts run alone
 * (`quiver run --until STAGE` on a store that already holds its inputs, one process per stage),
 * its peak resident set from /usr/bin/time, as a multiple of the generated table's raw column
 * bytes, beside the peak of a fully cached run (the process with nothing to compute). The stored
 * size of each stage's output says how much of it is the stage's own table.
 *
 *   npm run build && node dist/bench/stage-memory.js [--rows 5000000]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GENERATED_COLUMNS, objectSizes, pipeline, runWithPeak } from "./chunked-pipeline.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const cli = path.join(repo, "bin", "quiver.js");
const rowsArg = process.argv.indexOf("--rows");
const rows = rowsArg >= 0 ? Number(process.argv[rowsArg + 1]) : 5_000_000;
if (!Number.isSafeInteger(rows) || rows < 2) throw new Error("--rows: a row count, e.g. 5000000");
const STAGES = ["events", "cuts", "derived", "scaled", "sample", "bdt", "scores", "roc"];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-stage-memory-"));
const file = path.join(dir, "p.yaml");
fs.writeFileSync(file, pipeline(rows));
const store = path.join(dir, ".quiver");

/** Peak RSS (bytes) and wall seconds of one `quiver run --until stage`. */
function runUntil(stage: string): { peak: number; seconds: number } {
  const r = runWithPeak(cli, ["run", file, "--until", stage, "--jobs", "1", "--no-lock"], dir);
  return { peak: r.peakBytes, seconds: r.seconds };
}

const raw = rows * GENERATED_COLUMNS * 8;
const gb = (b: number) => (b / 1e9).toFixed(2);
const loadBefore = os.loadavg()[0]!.toFixed(1);
const measured: { stage: string; peak: number; seconds: number; output: number }[] = [];
try {
  for (const stage of STAGES) {
    const before = objectSizes(store);
    const m = runUntil(stage);
    let output = 0;
    for (const [p, size] of objectSizes(store)) if (!before.has(p)) output += size;
    measured.push({ stage, ...m, output });
    console.error(
      `${stage}: peak ${gb(m.peak)} GB (${(m.peak / raw).toFixed(2)}× raw), ${m.seconds.toFixed(1)} s`,
    );
  }
  const cached = runUntil("roc");
  const loadAfter = os.loadavg()[0]!.toFixed(1);
  const text = [
    "# Peak memory per stage of the scale pipeline (bench/stage-memory.ts)",
    "",
    `Command: \`node dist/bench/stage-memory.js --rows ${rows}\`; ${new Date().toISOString().slice(0, 10)}, load average ${loadBefore} → ${loadAfter}, ${os.availableParallelism()} cores.`,
    `Each stage runs alone (\`quiver run --until STAGE --jobs 1\`, its inputs already stored), one process each. Raw bytes: the generated table's ${GENERATED_COLUMNS} columns × 8 bytes × ${rows.toLocaleString("en")} rows = ${gb(raw)} GB. A fully cached run peaks at ${gb(cached.peak)} GB (${(cached.peak / raw).toFixed(2)}× raw): the process itself.`,
    "",
    "| stage | peak RSS | peak ÷ raw bytes | stored output | seconds (with start-up) |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...measured.map(
      (m) =>
        `| ${m.stage} | ${gb(m.peak)} GB | ${(m.peak / raw).toFixed(2)} | ${gb(m.output)} GB | ${m.seconds.toFixed(1)} |`,
    ),
    "",
    "A stored table is read whole into typed arrays (streamed from its file batch by batch, each batch's buffer garbage once copied) and a stage computes its whole output before the store streams it out. Select, scale, split, roc and significance consume their input (`ctx.inputs.consume`): select lets each input column go once its kept rows are copied, scale once its standardised copy exists, split once every part has its copy, roc and significance keep only the arrays they read, so they peak near one table rather than input + output. Reading alone costs about what `sample` shows (the table, plus a few 64 MiB batches awaiting collection).",
    "",
  ].join("\n");
  console.log(text);
  fs.writeFileSync(path.join(repo, "bench", "results", "stage-memory.md"), text);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
