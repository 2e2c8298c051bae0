/**
 * Benchmark of the CSV reader against DuckDB's read_csv, in the same run on the same files.
 *
 * Two numeric CSVs are generated in a temp dir (25 columns: an integer id and 24 floats):
 * - "short": values printed with up to 7 significant digits (like %.6g / fixed-point exports);
 * - "full": every float printed as the shortest round-trip text (up to 17 digits, as pandas'
 *   to_csv writes float64 by default), which sends most values to the slow exact path.
 * Our reader is timed from the bytes on disk to typed-array columns; DuckDB materialises every
 * column with CREATE TABLE ... AS SELECT * FROM read_csv(...), with 1 thread and with 2 threads.
 *
 *   node dist/bench/load.js [shortRows] [fullRows]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { parseCsv } from "../stages/lib/io/csv.js";
import { Rng } from "../stages/lib/random.js";

const shortRows = Number(process.argv[2] ?? 1_000_000);
const fullRows = Number(process.argv[3] ?? 400_000);
const COLS = 25;
const REPEATS = 3;

function writeCsv(file: string, rows: number, format: (x: number, c: number) => string): number {
  const rng = new Rng(7);
  const fd = fs.openSync(file, "w");
  fs.writeSync(fd, Array.from({ length: COLS }, (_, c) => `c${c}`).join(",") + "\n");
  const batch: string[] = [];
  for (let r = 0; r < rows; r++) {
    const cells = [String(r)];
    for (let c = 1; c < COLS; c++) cells.push(format(rng.normal() * 10 ** ((c % 5) - 1), c));
    batch.push(cells.join(","));
    if (batch.length === 10000 || r === rows - 1) {
      fs.writeSync(fd, batch.join("\n") + "\n");
      batch.length = 0;
    }
  }
  fs.closeSync(fd);
  return fs.statSync(file).size;
}

function best(f: () => void): number {
  let ms = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    f();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}

async function bestAsync(f: () => Promise<void>): Promise<number> {
  let ms = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    await f();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}

async function duckdb(file: string, threads: number): Promise<number> {
  const instance = await DuckDBInstance.create(":memory:", { threads: String(threads) });
  const conn = await instance.connect();
  const sql = `CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv('${file.replaceAll("'", "''")}', header = true)`;
  const ms = await bestAsync(async () => {
    await conn.run(sql);
  });
  conn.closeSync();
  instance.closeSync();
  return ms;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-bench-load-"));
try {
  const cases = [
    {
      name: "short (≤7 significant digits)",
      rows: shortRows,
      format: (x: number) => x.toPrecision(7).replace(/\.?0+$/, ""),
    },
    { name: "full (shortest round-trip, ≤17 digits)", rows: fullRows, format: (x: number) => String(x) },
  ];
  console.log(
    `| file | rows × cols | MB | Quiver ms | Quiver MB/s | DuckDB 1 thread ms | DuckDB 2 threads ms | Quiver / DuckDB-1 speed | Quiver / DuckDB-2 speed |`,
  );
  console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|`);
  for (const c of cases) {
    const file = path.join(dir, `bench-${c.rows}.csv`);
    const bytes = writeCsv(file, c.rows, c.format);
    let rowsRead = 0;
    const ours = best(() => {
      const buf = fs.readFileSync(file);
      rowsRead = parseCsv(buf, { file, header: true }).table.numRows;
    });
    if (rowsRead !== c.rows) throw new Error(`read ${rowsRead} rows, wrote ${c.rows}`);
    const d1 = await duckdb(file, 1);
    const d2 = await duckdb(file, 2);
    const mb = bytes / 1e6;
    console.log(
      `| ${c.name} | ${c.rows} × ${COLS} | ${mb.toFixed(0)} | ${ours.toFixed(0)} | ${(mb / (ours / 1000)).toFixed(0)} | ` +
        `${d1.toFixed(0)} | ${d2.toFixed(0)} | ${(d1 / ours).toFixed(2)} | ${(d2 / ours).toFixed(2)} |`,
    );
    fs.rmSync(file);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
