/**
 * The readers against DuckDB and pandas, measured in the same run on the same files: CSV with
 * short and with 17-digit numbers (parser alone, and the whole `load` stage), Parquet read, and
 * Parquet read + write (zstd), with peak memory.
 *
 *   npm run build && node dist/bench/readers.js [rows] [repeats] [--no-peer] [--only=csv|parquet]
 *
 * Files (rows × 25 columns: an integer id and 24 floats): "short" prints ≤ 7 significant digits,
 * "17-digit" the shortest round-trip text (as pandas' to_csv writes float64); the Parquet file is
 * DuckDB's own COPY of the short CSV with its defaults (snappy). Every contender runs in a fresh
 * child process (so peak RSS is its own), timed inside the process around the read alone, except
 * the `load` row, which times the whole `quiver run --force` from outside. Repetitions are
 * interleaved (each contender once per round) and medians reported; the load average is printed
 * with each table.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs, requirePeer, type Peer } from "./peer.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..", "..");
const COLS = 25;

interface Sample {
  ms: number;
  rssMB: number;
}

// ---------------------------------------------------------------- child: one measurement

async function child(kind: string, file: string, out: string | undefined): Promise<Sample> {
  const t0 = performance.now();
  switch (kind) {
    case "quiver-csv-1":
    case "quiver-csv-2": {
      const { parseCsv } = await import("../stages/lib/io/csv.js");
      const { parseCsvTwoThreads, readShared } = await import("../stages/lib/io/csv-parallel.js");
      const start = performance.now();
      const r =
        kind === "quiver-csv-1"
          ? parseCsv(readShared(file, fs.statSync(file).size), { file, header: true })
          : await parseCsvTwoThreads(readShared(file, fs.statSync(file).size), { file, header: true });
      if (r.table.columns.size !== COLS) throw new Error("wrong column count");
      return { ms: performance.now() - start, rssMB: maxRss() };
    }
    case "quiver-parquet-1":
    case "quiver-parquet-2":
    case "quiver-parquet-rw": {
      const { readParquet } = await import("../stages/lib/io/parquet.js");
      const { writeParquetFile } = await import("../core/parquet-write.js");
      const start = performance.now();
      const src = {
        path: file,
        name: file,
        gzip: false,
        bytes: () => Promise.resolve(fs.readFileSync(file)),
      };
      const r = await readParquet(src, { threads: kind === "quiver-parquet-1" ? 1 : 2 });
      if (kind === "quiver-parquet-rw") await writeParquetFile(out!, r.table);
      return { ms: performance.now() - start, rssMB: maxRss() };
    }
    case "parquet-wasm": {
      // The reader before this change: parquet-wasm to Arrow IPC, then apache-arrow and the codec.
      const pq = await import("parquet-wasm");
      const { tableFromArrowIPC } = await import("../core/arrow-codec.js");
      const start = performance.now();
      await tableFromArrowIPC(pq.readParquet(fs.readFileSync(file)).intoIPCStream());
      return { ms: performance.now() - start, rssMB: maxRss() };
    }
    case "duckdb-csv-1":
    case "duckdb-csv-2":
    case "duckdb-parquet-1":
    case "duckdb-parquet-2":
    case "duckdb-parquet-rw": {
      const { DuckDBInstance } = await import("@duckdb/node-api");
      const threads = kind.endsWith("-2") || kind.endsWith("-rw") ? "2" : "1";
      const db = await DuckDBInstance.create(":memory:", { threads });
      const con = await db.connect();
      const q = (f: string) => f.replaceAll("'", "''");
      const sql = kind.startsWith("duckdb-csv")
        ? `CREATE TABLE t AS SELECT * FROM read_csv('${q(file)}', header = true)`
        : kind === "duckdb-parquet-rw"
          ? `COPY (SELECT * FROM read_parquet('${q(file)}')) TO '${q(out!)}' (FORMAT parquet, COMPRESSION zstd)`
          : `CREATE TABLE t AS SELECT * FROM read_parquet('${q(file)}')`;
      const start = performance.now();
      await con.run(sql);
      const ms = performance.now() - start;
      con.closeSync();
      db.closeSync();
      return { ms, rssMB: maxRss() };
    }
    default:
      throw new Error(`unknown measurement ${kind} (after ${performance.now() - t0} ms)`);
  }
}

function maxRss(): number {
  return process.resourceUsage().maxRSS / 1024;
}

// ---------------------------------------------------------------- parent

function runChild(kind: string, file: string, out?: string): Sample {
  const args = [path.join(here, "readers.js"), "--child", kind, file, ...(out ? [out] : [])];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${kind} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Sample;
}

const PANDAS = [
  "import sys, time, resource, pandas as pd",
  "t = time.perf_counter(); df = pd.read_csv(sys.argv[1]); ms = (time.perf_counter() - t) * 1000",
  "assert df.shape[1] == 25",
  'print(\'{"ms": %f, "rssMB": %f}\' % (ms, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))',
].join("\n");

function runPandas(peer: Peer, file: string): Sample {
  const r = spawnSync(peer.python, ["-c", PANDAS, file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`pandas failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Sample;
}

/** `quiver run --force data` of a pipeline that only loads `file`, timed from outside. */
function runLoadStage(dir: string, file: string): Sample {
  const yaml = path.join(dir, `load-${path.basename(file)}.yaml`);
  fs.writeFileSync(
    yaml,
    `quiver: 1\nname: bench-load\nstages:\n  data:\n    type: load\n    with: { files: [${JSON.stringify(file)}] }\n`,
  );
  const t0 = performance.now();
  const r = spawnSync(
    "/usr/bin/time",
    [
      "-f",
      "%M",
      process.execPath,
      path.join(repoRoot, "bin", "quiver.js"),
      "run",
      yaml,
      "--force=data",
      "--no-lock",
    ],
    { encoding: "utf8" },
  );
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`quiver run failed: ${r.stderr}${r.stdout}`);
  const kb = Number(r.stderr.trim().split("\n").pop());
  return { ms, rssMB: kb / 1024 };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function load(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(", ");
}

/** Runs each contender once per round, `repeats` rounds; medians of time and of peak memory. */
function compare(contenders: Record<string, () => Sample>, repeats: number): Record<string, Sample> {
  const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  const names = Object.keys(contenders);
  for (let r = 0; r < repeats; r++) {
    // Rotate the order so no contender always runs right after the same one.
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length]!;
      samples[name]!.push(contenders[name]!());
    }
  }
  return Object.fromEntries(
    names.map((n) => [
      n,
      { ms: median(samples[n]!.map((s) => s.ms)), rssMB: median(samples[n]!.map((s) => s.rssMB)) },
    ]),
  );
}

async function writeCsv(file: string, rows: number, format: (x: number) => string): Promise<number> {
  const { Rng } = await import("../stages/lib/random.js");
  const rng = new Rng(7);
  const fd = fs.openSync(file, "w");
  fs.writeSync(fd, Array.from({ length: COLS }, (_, c) => `c${c}`).join(",") + "\n");
  let batch: string[] = [];
  for (let r = 0; r < rows; r++) {
    const cells = [String(r)];
    for (let c = 1; c < COLS; c++) cells.push(format(rng.normal() * 10 ** ((c % 5) - 1)));
    batch.push(cells.join(","));
    if (batch.length === 10000 || r === rows - 1) {
      fs.writeSync(fd, batch.join("\n") + "\n");
      batch = [];
    }
  }
  fs.closeSync(fd);
  return fs.statSync(file).size;
}

const s = (ms: number) => (ms / 1000).toFixed(2) + " s";
const gb = (mb: number) => (mb / 1024).toFixed(2) + " GB";
const ratio = (a: number, b: number) => (a / b).toFixed(2) + "×";

async function main(): Promise<void> {
  const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
  const args = benchArgs().filter((a) => !a.startsWith("--only="));
  const rows = Number(args[0] ?? 1_000_000);
  const repeats = Number(args[1] ?? 5);
  const peer = requirePeer(["pandas"]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-bench-readers-"));
  try {
    const short = path.join(dir, "short.csv");
    const full = path.join(dir, "full.csv");
    const parquet = path.join(dir, "table.parquet");
    const shortBytes = await writeCsv(short, rows, (x) => x.toPrecision(7).replace(/\.?0+$/, ""));
    const fullBytes = only === "parquet" ? 0 : await writeCsv(full, rows, (x) => String(x));
    {
      const { DuckDBInstance } = await import("@duckdb/node-api");
      const db = await DuckDBInstance.create(":memory:", { threads: "2" });
      const con = await db.connect();
      await con.run(
        `COPY (SELECT * FROM read_csv('${short}', header = true)) TO '${parquet}' (FORMAT parquet)`,
      );
      con.closeSync();
      db.closeSync();
    }
    const out = path.join(dir, "out.parquet");
    console.log(`rows × columns: ${rows} × ${COLS}; repeats: ${repeats} (medians); node ${process.version}`);
    console.log(
      `files: short CSV ${(shortBytes / 1e6).toFixed(0)} MB, 17-digit CSV ${(fullBytes / 1e6).toFixed(0)} MB, ` +
        `Parquet ${(fs.statSync(parquet).size / 1e6).toFixed(0)} MB`,
    );
    console.log(`peer: ${peer ? `${peer.python}, pandas ${peer.versions.pandas}` : "pandas not measured"}\n`);

    for (const [name, file] of only === "parquet"
      ? []
      : ([
          ["short numbers", short],
          ["17-digit numbers", full],
        ] as const)) {
      console.log(`### CSV, ${name} (load average before: ${load()})\n`);
      const contenders: Record<string, () => Sample> = {
        "Quiver parser, 1 thread": () => runChild("quiver-csv-1", file),
        "Quiver parser, 2 threads": () => runChild("quiver-csv-2", file),
        "DuckDB read_csv, 1 thread": () => runChild("duckdb-csv-1", file),
        "DuckDB read_csv, 2 threads": () => runChild("duckdb-csv-2", file),
        "Quiver `load` stage (whole `quiver run --force`)": () => runLoadStage(dir, file),
      };
      if (peer) contenders["pandas.read_csv"] = () => runPandas(peer, file);
      const r = compare(contenders, repeats);
      const d1 = r["DuckDB read_csv, 1 thread"]!.ms;
      console.log("| what | time | peak RSS | time / DuckDB 1 thread | time / pandas |");
      console.log("|---|---:|---:|---:|---:|");
      const pandas = r["pandas.read_csv"]?.ms;
      for (const [k, v] of Object.entries(r))
        console.log(
          `| ${k} | ${s(v.ms)} | ${gb(v.rssMB)} | ${ratio(v.ms, d1)} | ${pandas ? ratio(v.ms, pandas) : "—"} |`,
        );
      console.log(`\nload average after: ${load()}\n`);
    }

    if (only === "csv") return;
    console.log(`### Parquet (written by DuckDB, snappy) (load average before: ${load()})\n`);
    const r = compare(
      {
        "Quiver read, 1 thread": () => runChild("quiver-parquet-1", parquet),
        "Quiver read, 2 threads": () => runChild("quiver-parquet-2", parquet),
        "previous reader (parquet-wasm → Arrow IPC → apache-arrow)": () => runChild("parquet-wasm", parquet),
        "DuckDB read_parquet, 1 thread": () => runChild("duckdb-parquet-1", parquet),
        "DuckDB read_parquet, 2 threads": () => runChild("duckdb-parquet-2", parquet),
        "Quiver read + write (zstd, as `quiver export`)": () => runChild("quiver-parquet-rw", parquet, out),
        "DuckDB read + write (zstd, 2 threads)": () => runChild("duckdb-parquet-rw", parquet, out),
      },
      repeats,
    );
    const d1 = r["DuckDB read_parquet, 1 thread"]!;
    console.log("| what | time | peak RSS | time / DuckDB 1 thread | memory / DuckDB 1 thread |");
    console.log("|---|---:|---:|---:|---:|");
    for (const [k, v] of Object.entries(r))
      console.log(
        `| ${k} | ${s(v.ms)} | ${gb(v.rssMB)} | ${ratio(v.ms, d1.ms)} | ${ratio(v.rssMB, d1.rssMB)} |`,
      );
    const rw = r["DuckDB read + write (zstd, 2 threads)"]!;
    const qrw = r["Quiver read + write (zstd, as `quiver export`)"]!;
    console.log(
      `\nread + write: Quiver / DuckDB = ${ratio(qrw.ms, rw.ms)} time, ${ratio(qrw.rssMB, rw.rssMB)} memory`,
    );
    console.log("pandas.read_parquet: not measured (no Parquet engine: pyarrow is not installed)");
    console.log(`\nload average after: ${load()}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") {
  const [, , , kind, file, out] = process.argv;
  console.log(JSON.stringify(await child(kind!, file!, out)));
} else await main();
