/**
 * Benchmark of `select` and `define` on a generated table (default 10 million rows × 25 float64
 * columns): rows per second, and peak memory as a multiple of the table's bytes. The reference is
 * a hand-written JavaScript loop doing the same work, measured in the same run, and numpy (the
 * interpreter is found by bench/peer.ts; without one the benchmark stops unless run with --no-peer,
 * and the table then says "peer not measured").
 *
 * Each case runs in its own child process, so each peak RSS belongs to one case only.
 *   node dist/bench/transform.js [--rows N] [--cols C] [--reps R] [--no-peer]
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import os from "node:os";
import { selectStage } from "../stages/select.js";
import { defineColumnsStage } from "../stages/define.js";
import { runStage } from "../test/support/stage-harness.js";
import { table as tableArtifact } from "../core/stage.js";
import { type Column, type Table, makeTable } from "../core/table.js";
import { Rng } from "../stages/lib/random.js";
import { requirePeer } from "./peer.js";

const CUT = "c0 > 0.2 && abs(c1 - 0.5) < 0.3 && c2 + c3 < 1.5";
const DEFS = {
  d0: "c0 * c1 + c2",
  d1: "sqrt(abs(c3)) * exp(-c4)",
  d2: "where(c5 > 0.5, log(c6 + 1), c7 ^ 2)",
};
const CASES = ["select", "select-js", "define", "define-js"] as const;
type Case = (typeof CASES)[number];

interface Measurement {
  case: string;
  seconds: number;
  rowsOut: number;
  /** Peak resident memory of the process, bytes. */
  peakRss: number;
  /** Resident memory right after the table was generated, bytes. */
  baseRss: number;
  tableBytes: number;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function generate(rows: number, cols: number): Table {
  const rng = new Rng(12345);
  const columns: [string, Column][] = [];
  for (let j = 0; j < cols; j++) {
    const v = new Float64Array(rows);
    for (let i = 0; i < rows; i++) v[i] = rng.uniform();
    columns.push([`c${j}`, { type: "float64", values: v }]);
  }
  return makeTable(columns);
}

const col = (t: Table, name: string) => (t.columns.get(name) as { values: Float64Array }).values;

/** The same filter written by hand: one fused loop for the mask, then a copy per column. */
function selectByHand(t: Table): Table {
  const [c0, c1, c2, c3] = ["c0", "c1", "c2", "c3"].map((n) => col(t, n)) as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const n = t.numRows;
  const rows = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++)
    if (c0[i]! > 0.2 && Math.abs(c1[i]! - 0.5) < 0.3 && c2[i]! + c3[i]! < 1.5) rows[k++] = i;
  const out: [string, Column][] = [];
  for (const [name, c] of t.columns) {
    const src = (c as { values: Float64Array }).values;
    const v = new Float64Array(k);
    for (let j = 0; j < k; j++) v[j] = src[rows[j]!]!;
    out.push([name, { type: "float64", values: v }]);
  }
  return makeTable(out);
}

function defineByHand(t: Table): Table {
  const [c0, c1, c2, c3, c4, c5, c6, c7] = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => col(t, `c${j}`));
  const n = t.numRows;
  const d0 = new Float64Array(n);
  const d1 = new Float64Array(n);
  const d2 = new Float64Array(n);
  for (let i = 0; i < n; i++) d0[i] = c0![i]! * c1![i]! + c2![i]!;
  for (let i = 0; i < n; i++) d1[i] = Math.sqrt(Math.abs(c3![i]!)) * Math.exp(-c4![i]!);
  for (let i = 0; i < n; i++) d2[i] = c5![i]! > 0.5 ? Math.log(c6![i]! + 1) : c7![i]! ** 2;
  const m = new Map(t.columns);
  m.set("d0", { type: "float64", values: d0 });
  m.set("d1", { type: "float64", values: d1 });
  m.set("d2", { type: "float64", values: d2 });
  return { numRows: n, columns: m };
}

async function runCase(c: Case, t: Table): Promise<Table> {
  switch (c) {
    case "select": {
      const r = await runStage(selectStage, { params: { where: CUT }, inputs: { table: tableArtifact(t) } });
      return (r.outputs.table as { table: Table }).table;
    }
    case "select-js":
      return selectByHand(t);
    case "define": {
      const r = await runStage(defineColumnsStage, {
        params: { columns: DEFS },
        inputs: { table: tableArtifact(t) },
      });
      return (r.outputs.table as { table: Table }).table;
    }
    case "define-js":
      return defineByHand(t);
  }
}

/** Child: generate, run one case `reps` times, print one JSON line. */
async function child(c: Case, rows: number, cols: number, reps: number): Promise<void> {
  const t = generate(rows, cols);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const baseRss = process.memoryUsage().rss;
  let best = Infinity;
  let rowsOut = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    // Only the row count is kept, so the output can be collected before the next repetition.
    rowsOut = (await runCase(c, t)).numRows;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    gc?.();
  }
  const m: Measurement = {
    case: c,
    seconds: best,
    rowsOut,
    peakRss: process.resourceUsage().maxRSS * 1024,
    baseRss,
    tableBytes: rows * cols * 8,
  };
  process.stdout.write(JSON.stringify(m) + "\n");
}

const NUMPY = String.raw`
import sys, time, json, resource
import numpy as np
rows, cols, reps, case = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(12345)
t = {f"c{j}": rng.random(rows) for j in range(cols)}
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
best = float("inf")
for _ in range(reps):
    t0 = time.perf_counter()
    if case == "select":
        m = (t["c0"] > 0.2) & (np.abs(t["c1"] - 0.5) < 0.3) & (t["c2"] + t["c3"] < 1.5)
        out = {k: v[m] for k, v in t.items()}
        n = int(m.sum())
    else:
        out = dict(t)
        out["d0"] = t["c0"] * t["c1"] + t["c2"]
        out["d1"] = np.sqrt(np.abs(t["c3"])) * np.exp(-t["c4"])
        out["d2"] = np.where(t["c5"] > 0.5, np.log(t["c6"] + 1), t["c7"] ** 2)
        n = rows
    best = min(best, time.perf_counter() - t0)
    del out
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"case": "numpy-" + case, "seconds": best, "rowsOut": n, "peakRss": peak, "baseRss": base, "tableBytes": rows * cols * 8}))
`;

function parent(rows: number, cols: number, reps: number): void {
  const peer = requirePeer(["numpy"]);
  const self = fileURLToPath(import.meta.url);
  const results: Measurement[] = [];
  for (const c of CASES) {
    const r = spawnSync(
      process.execPath,
      [
        "--expose-gc",
        self,
        "--child",
        c,
        "--rows",
        String(rows),
        "--cols",
        String(cols),
        "--reps",
        String(reps),
      ],
      {
        encoding: "utf8",
        maxBuffer: 1 << 20,
      },
    );
    if (r.status !== 0) throw new Error(`case ${c} failed: ${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim()) as Measurement);
  }
  const np = peer?.versions.numpy;
  if (peer !== undefined) {
    for (const c of ["select", "define"]) {
      const r = spawnSync(peer.python, ["-c", NUMPY, String(rows), String(cols), String(reps), c], {
        encoding: "utf8",
      });
      if (r.status !== 0) throw new Error(`numpy ${c} failed (${peer.python}): ${r.stderr}`);
      results.push(JSON.parse(r.stdout.trim()) as Measurement);
    }
  }
  const by = new Map(results.map((m) => [m.case, m]));
  const fmt = (x: number, d = 2) => x.toFixed(d);
  const lines = [
    `rows ${rows.toLocaleString("en")} × ${cols} float64 columns (${fmt((rows * cols * 8) / 2 ** 30)} GiB), best of ${reps}`,
    `select: ${CUT}`,
    `define: ${Object.entries(DEFS)
      .map(([k, v]) => `${k} = ${v}`)
      .join("; ")}`,
    `node ${process.version}, ${os.cpus().length} cores, ${np ? `numpy ${np} (${peer?.python})` : "numpy: peer not measured"}`,
    "",
    "| case | time (s) | rows/s (M) | vs hand-written JS | rows out | peak RSS / table | extra over table (× table) |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const m of results) {
    const refName = m.case.startsWith("numpy-")
      ? `${m.case.slice(6)}-js`
      : m.case.endsWith("-js")
        ? m.case
        : `${m.case}-js`;
    const ref = by.get(refName);
    lines.push(
      `| ${m.case} | ${fmt(m.seconds, 3)} | ${fmt(rows / m.seconds / 1e6, 1)} | ${ref ? fmt(m.seconds / ref.seconds) + "×" : "-"} | ${m.rowsOut.toLocaleString("en")} | ${fmt(m.peakRss / m.tableBytes)} | ${fmt((m.peakRss - m.baseRss) / m.tableBytes)} |`,
    );
  }
  if (peer === undefined)
    for (const c of ["select", "define"]) lines.push(`| numpy-${c} | peer not measured | | | | | |`);
  process.stdout.write(lines.join("\n") + "\n");
}

const childAt = process.argv.indexOf("--child");
const rows = arg("rows", 10_000_000);
const cols = arg("cols", 25);
const reps = arg("reps", 3);
if (childAt >= 0) await child(process.argv[childAt + 1] as Case, rows, cols, reps);
else parent(rows, cols, reps);
