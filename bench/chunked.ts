/**
 * Tables at scale: generate → select → define → scale → predict (a small boosted-tree model) →
 * roc over N generated events, each N in a fresh store, as one `quiver run` in a child process.
 * Reports wall time, time per row, peak resident memory of the run (from /usr/bin/time) as a
 * multiple of the generated table's raw column bytes, the largest stored object, and each
 * stage's time; the peer is the same pipeline at the smallest N (cost should grow linearly).
 *
 *   npm run build && node dist/bench/chunked.js [--rows 10000000,30000000] [--keep] [--cli OTHER/bin/quiver.js]
 *
 * 100M rows (`--rows 100000000`) needs ~20 GB of memory and an idle machine. The table is
 * written to bench/results/chunked.md only when every size completed.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GENERATED_COLUMNS, objectSizes, pipeline, runWithPeak } from "./chunked-pipeline.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
// --cli: another build's bin/quiver.js, to compare a change against the code before it.
const cliArg = process.argv.indexOf("--cli");
const cli = cliArg >= 0 ? path.resolve(process.argv[cliArg + 1]!) : path.join(repo, "bin", "quiver.js");

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const sizes = (arg("rows") ?? "10000000,30000000").split(",").map(Number);
if (sizes.some((n) => !Number.isSafeInteger(n) || n < 2))
  throw new Error(`--rows: give row counts separated by commas, e.g. 10000000,30000000`);

interface Measured {
  rows: number;
  seconds: number;
  peakBytes: number;
  largestObject: number;
  storeBytes: number;
  stages: Map<string, number>;
}

function measure(rows: number): Measured {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-chunked-bench-"));
  try {
    fs.writeFileSync(path.join(dir, "p.yaml"), pipeline(rows));
    const r = runWithPeak(cli, ["run", path.join(dir, "p.yaml"), "--json", "--jobs", "1"], dir);
    const stages = new Map<string, number>();
    for (const line of r.stdout.split("\n")) {
      if (!line.startsWith("{")) continue;
      const e = JSON.parse(line) as { type?: string; stage?: string; durationMs?: number };
      if (e.type === "finished" && e.stage && typeof e.durationMs === "number")
        stages.set(e.stage, e.durationMs / 1000);
    }
    const objects = [...objectSizes(path.join(dir, ".quiver")).values()];
    return {
      rows,
      seconds: r.seconds,
      peakBytes: r.peakBytes,
      largestObject: Math.max(0, ...objects),
      storeBytes: objects.reduce((a, b) => a + b, 0),
      stages,
    };
  } finally {
    if (!process.argv.includes("--keep")) fs.rmSync(dir, { recursive: true, force: true });
  }
}

const gb = (b: number) => (b / 1e9).toFixed(2);
const load = () => os.loadavg()[0]!.toFixed(1);
const loads: string[] = [load()];
const results: Measured[] = [];
for (const n of sizes) {
  console.error(`running ${n} rows ...`);
  results.push(measure(n));
  loads.push(load());
}
const base = results[0]!;
const perRow = (m: Measured) => (m.seconds / m.rows) * 1e9;
const stageNames = [...base.stages.keys()];
const lines = [
  "# Tables at scale",
  "",
  "Command: `npm run build && node dist/bench/chunked.js --rows " + sizes.join(",") + "`.",
  "",
  `generate → select → define → scale → predict (20-tree gbt trained on 20,000 rows) → roc, one`,
  `\`quiver run --jobs 1\` per size in a fresh store, measured ${new Date().toISOString().slice(0, 10)} at load`,
  `average ${loads.join(" → ")} on ${os.availableParallelism()} cores. Raw bytes: the generated table's`,
  `${GENERATED_COLUMNS} columns × 8 bytes × rows. Peak: the run's maximum resident set (/usr/bin/time).`,
  "",
  "| rows | wall | ns per row | × smallest | peak RSS | peak ÷ raw bytes | largest object | store |",
  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...results.map((m) => {
    const raw = m.rows * GENERATED_COLUMNS * 8;
    return `| ${m.rows.toLocaleString("en")} | ${m.seconds.toFixed(1)} s | ${perRow(m).toFixed(0)} | ${(perRow(m) / perRow(base)).toFixed(2)} | ${gb(m.peakBytes)} GB | ${(m.peakBytes / raw).toFixed(2)} | ${gb(m.largestObject)} GB | ${gb(m.storeBytes)} GB |`;
  }),
  "",
  "Seconds per stage:",
  "",
  `| rows | ${stageNames.join(" | ")} |`,
  `| ---: | ${stageNames.map(() => "---:").join(" | ")} |`,
  ...results.map(
    (m) =>
      `| ${m.rows.toLocaleString("en")} | ${stageNames.map((s) => (m.stages.get(s) ?? NaN).toFixed(1)).join(" | ")} |`,
  ),
  "",
];
const text = lines.join("\n");
console.log(text);
fs.writeFileSync(path.join(repo, "bench", "results", "chunked.md"), text);
