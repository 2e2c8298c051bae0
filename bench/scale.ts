/**
 * Benchmark: the `scale` stage (standard scaling, fit + transform) on 10 million rows × 25 float64
 * columns. Reports rows per second and peak memory as a multiple of the table's size, against
 * scikit-learn's StandardScaler on the same data in the same run (the interpreter with
 * scikit-learn is found by bench/peer.ts; without one the benchmark stops). With --no-peer the
 * reference is a plain JS loop and scikit-learn is reported as not measured.
 *
 *   node dist/bench/scale.js [--rows 10000000] [--cols 25] [--no-peer]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { scaleStage } from "../stages/scale.js";
import { table as tableArtifact } from "../core/stage.js";
import { makeTable, type Column, type Table } from "../core/table.js";
import { runStage } from "../test/support/stage-harness.js";
import { requirePeer } from "./peer.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const rows = arg("rows", 10_000_000);
const cols = arg("cols", 25);
const tableBytes = rows * cols * 8;
const mb = (b: number) => (b / 2 ** 20).toFixed(0);

/** Deterministic physics-ish columns: offsets and spreads over several decades (xorshift32). */
function makeData(): Table {
  let s = 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const columns: [string, Column][] = [];
  for (let j = 0; j < cols; j++) {
    const v = new Float64Array(rows);
    const offset = (j % 5) * 10 ** (j % 4);
    const spread = 10 ** ((j % 7) - 3);
    for (let i = 0; i < rows; i++) v[i] = offset + spread * (next() + next() + next() - 1.5);
    columns.push([`x${j}`, { type: "float64", values: v }]);
  }
  return makeTable(columns);
}

interface Fitted {
  mean: number[];
  scale: number[];
}

async function quiver(t: Table): Promise<{ seconds: number; peakMultiple: number; fitted: Fitted }> {
  // The stage allocates only its output columns (no temporaries), all still alive when it returns,
  // so input + growth of array-buffer memory is its peak.
  const buffersBefore = process.memoryUsage().arrayBuffers;
  const start = performance.now();
  const r = await runStage(scaleStage, { params: { method: "standard" }, inputs: { fit: tableArtifact(t) } });
  const seconds = (performance.now() - start) / 1000;
  const out = r.outputs.scaler;
  if (out?.kind !== "metrics") throw new Error("no scaler output");
  const c = out.metrics.columns as { mean: number; scale: number }[];
  return {
    seconds,
    peakMultiple: (tableBytes + process.memoryUsage().arrayBuffers - buffersBefore) / tableBytes,
    fitted: { mean: c.map((x) => x.mean), scale: c.map((x) => x.scale) },
  };
}

/** The plain loop a user might write: mean, then variance, then (x - mean) / std, per column. */
function naiveJs(t: Table): number {
  const start = performance.now();
  for (const c of t.columns.values()) {
    if (c.type !== "float64") continue;
    const x = c.values;
    let sum = 0;
    for (let i = 0; i < x.length; i++) sum += x[i]!;
    const mean = sum / x.length;
    let sq = 0;
    for (let i = 0; i < x.length; i++) sq += (x[i]! - mean) ** 2;
    const std = Math.sqrt(sq / x.length) || 1;
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = (x[i]! - mean) / std;
  }
  return (performance.now() - start) / 1000;
}

const PY = `
import json, resource, sys, time
import numpy as np
from sklearn.preprocessing import StandardScaler
rows, cols, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
X = np.fromfile(path, dtype=np.float64).reshape(rows, cols)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - X.nbytes
t0 = time.perf_counter()
s = StandardScaler()
Y = s.fit_transform(X)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
import sklearn
print(json.dumps({"seconds": seconds, "peak_multiple": (peak - before) / X.nbytes,
                  "mean": s.mean_.tolist(), "scale": s.scale_.tolist(),
                  "sklearn": sklearn.__version__, "numpy": np.__version__}))
`;

/** Row-major float64, as numpy reads it with fromfile(...).reshape(rows, cols). */
function writeRowMajor(t: Table, file: string): void {
  const columns = [...t.columns.values()].map((c) => (c.type === "float64" ? c.values : new Float64Array(0)));
  const fd = openSync(file, "w");
  const chunk = 65536;
  const buf = new Float64Array(chunk * cols);
  for (let start = 0; start < rows; start += chunk) {
    const n = Math.min(chunk, rows - start);
    for (let i = 0; i < n; i++) for (let j = 0; j < cols; j++) buf[i * cols + j] = columns[j]![start + i]!;
    writeSync(fd, new Uint8Array(buf.buffer, 0, n * cols * 8));
  }
  closeSync(fd);
}

interface PythonResult {
  seconds: number;
  peak_multiple: number;
  mean: number[];
  scale: number[];
  sklearn: string;
  numpy: string;
}

/** Runs the scikit-learn reference first, so its process and ours never hold both outputs at once. */
function runPython(python: string, t: Table): PythonResult {
  const dir = mkdtempSync(path.join(os.tmpdir(), "quiver-bench-scale-"));
  try {
    const file = path.join(dir, "x.f64");
    writeRowMajor(t, file);
    const script = path.join(dir, "ref.py");
    writeFileSync(script, PY);
    const r = spawnSync(python, [script, String(rows), String(cols), file], {
      encoding: "utf8",
      maxBuffer: 1 << 26,
    });
    if (r.status !== 0) throw new Error(`python reference failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as PythonResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const python = requirePeer(["sklearn", "numpy"])?.python;
  console.log(`scale benchmark: ${rows} rows × ${cols} float64 columns (${mb(tableBytes)} MiB)`);
  const t = makeData();
  const py = python ? runPython(python, t) : undefined;
  const q = await quiver(t);
  console.log(
    `quiver scale (standard, fit + transform): ${q.seconds.toFixed(3)} s, ` +
      `${(rows / q.seconds / 1e6).toFixed(2)} M rows/s, peak memory ${q.peakMultiple.toFixed(2)}× the table`,
  );
  if (py) {
    let maxRel = 0;
    for (let j = 0; j < cols; j++) {
      maxRel = Math.max(maxRel, Math.abs(q.fitted.mean[j]! - py.mean[j]!) / Math.abs(py.mean[j]! || 1));
      maxRel = Math.max(maxRel, Math.abs(q.fitted.scale[j]! - py.scale[j]!) / Math.abs(py.scale[j]!));
    }
    console.log(
      `sklearn ${py.sklearn} StandardScaler.fit_transform (numpy ${py.numpy}): ${py.seconds.toFixed(3)} s, ` +
        `${(rows / py.seconds / 1e6).toFixed(2)} M rows/s, peak memory ${py.peak_multiple.toFixed(2)}× the table`,
    );
    console.log(`ratio (sklearn time / quiver time): ${(py.seconds / q.seconds).toFixed(2)}`);
    console.log(`fitted mean/scale, max relative difference to sklearn: ${maxRel.toExponential(2)}`);
  } else {
    const s = naiveJs(t);
    console.log(`scikit-learn: peer not measured (--no-peer); reference = naive JS loop: ${s.toFixed(3)} s`);
    console.log(`ratio (naive time / quiver time): ${(s / q.seconds).toFixed(2)}`);
  }
}

await main();
