/**
 * Where the scale pipeline's peak memory is: each stage of bench/chunked-pipeline.ts run alone
 * (`quiver run --until STAGE` on a store that already holds its inputs, one process per stage),
 * its peak resident set from /usr/bin/time, as a multiple of the generated table's raw column
 * bytes, beside the peak of a fully cached run (the process with nothing to compute). The stored
 * size of each stage's output says how much of it is the stage's own table.
 *
 *   npm run build && node dist/bench/stage-memory.js [--rows 5000000]
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GENERATED_COLUMNS, pipeline } from "./chunked-pipeline.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const cli = path.join(repo, "bin", "quiver.js");
const rowsArg = process.argv.indexOf("--rows");
const rows = rowsArg >= 0 ? Number(process.argv[rowsArg + 1]) : 5_000_000;
if (!Number.isSafeInteger(rows) || rows < 2) throw new Error("--rows: a row count, e.g. 5000000");
const STAGES = ["events", "cuts", "derived", "scaled", "sample", "bdt", "scores", "roc"];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-stage-memory-"));
const file = path.join(dir, "p.yaml");
fs.writeFileSync(file, pipeline(rows));
const objectsDir = path.join(dir, ".quiver", "objects");

function objectSizes(): Map<string, number> {
  const out = new Map<string, number>();
  if (!fs.existsSync(objectsDir)) return out;
  for (const e of fs.readdirSync(objectsDir, { recursive: true, withFileTypes: true }))
    if (e.isFile()) {
      const p = path.join(e.parentPath, e.name);
      out.set(p, fs.statSync(p).size);
    }
  return out;
}

/** Peak RSS (bytes) and wall seconds of one `quiver run --until stage`. */
function runUntil(stage: string): { peak: number; seconds: number } {
  const t = performance.now();
  const r = spawnSync(
    "/usr/bin/time",
    ["-f", "QVTIME %M", process.execPath, cli, "run", file, "--until", stage, "--jobs", "1", "--no-lock"],
    { cwd: dir, encoding: "utf8", maxBuffer: 1 << 26 },
  );
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`run --until ${stage} failed (${r.status}):\n${r.stderr.slice(-3000)}`);
  const kb = /QVTIME (\d+)/.exec(r.stderr)?.[1];
  if (!kb) throw new Error("/usr/bin/time gave no peak memory (is the `time` package installed?)");
  return { peak: Number(kb) * 1024, seconds };
}

const raw = rows * GENERATED_COLUMNS * 8;
const gb = (b: number) => (b / 1e9).toFixed(2);
const loadBefore = os.loadavg()[0]!.toFixed(1);
const measured: { stage: string; peak: number; seconds: number; output: number }[] = [];
try {
  for (const stage of STAGES) {
    const before = objectSizes();
    const m = runUntil(stage);
    let output = 0;
    for (const [p, size] of objectSizes()) if (!before.has(p)) output += size;
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
    "A stored table is read whole into typed arrays (streamed from its file batch by batch) and a stage computes its whole output before the store streams it out, so a row-wise stage holds its input and its output at once: select peaks at about input + kept rows, scale at input + its standardised copy.",
    "",
  ].join("\n");
  console.log(text);
  fs.writeFileSync(path.join(repo, "bench", "results", "stage-memory.md"), text);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
