/**
 * Benchmark of the ROOT reader against Quiver's own Parquet reader, in one run, on the same columns.
 *
 * The 19 numeric branches of the flat Zmumu tree (2304 events: Run, Event, E1 … M) are read from
 * `copies` copies of the file (symbolic links in a temp dir; default 150, i.e. 6.6 M values or
 * 52.5 MB as float64/int32), zlib-compressed and uncompressed, through the `load` stage (reader +
 * concatenation, as a pipeline runs it). The table that gives is written as Parquet with gzip and
 * with zstd, once as one file and once as `copies` files of one copy each, and read through the
 * same `load` stage. jsroot's own entry-by-entry reader (`treeProcess`) is timed on a few copies
 * for context. Each time is the median of `repeats` runs; values/s counts table cells.
 *
 *   node dist/bench/root.js [copies] [repeats]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tableToArrowIPC } from "../core/arrow-codec.js";
import type { Table } from "../core/table.js";
import { loadStage } from "../stages/load.js";
import { RootSource } from "../stages/lib/root/source.js";
import { runStage } from "../test/support/stage-harness.js";

const copies = Number(process.argv[2] ?? 150);
const repeats = Number(process.argv[3] ?? 5);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const dataDir = path.resolve(repoRoot, "..", "shared", "data", "root-testdata");
const BRANCHES = ["Run", "Event", "E1", "px1", "py1", "pz1", "pt1", "eta1", "phi1", "Q1"].concat([
  "E2",
  "px2",
  "py2",
  "pz2",
  "pt2",
  "eta2",
  "phi2",
  "Q2",
  "M",
]);

async function loadTable(dir: string, params: Record<string, unknown>): Promise<Table> {
  const r = await runStage(loadStage, { params, baseDir: dir });
  if (r.outputs.table?.kind !== "table") throw new Error("load gave no table");
  return r.outputs.table.table;
}

async function median(f: () => Promise<void>): Promise<number> {
  const ms: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[ms.length >> 1]!;
}

async function writeParquet(table: Table, file: string, compression: "GZIP" | "ZSTD"): Promise<number> {
  const pq = await import("parquet-wasm");
  const arrow = await import("apache-arrow");
  const stream = arrow.tableToIPC(arrow.tableFromIPC(await tableToArrowIPC(table)), "stream");
  const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression[compression]).build();
  const bytes = pq.writeParquet(pq.Table.fromIPCStream(stream), props);
  fs.writeFileSync(file, bytes);
  return bytes.length;
}

/** jsroot's own TTree reader, entry by entry, over `n` copies: values per second. */
async function jsrootPerEntry(file: string, n: number): Promise<number> {
  const { TSelector, treeProcess } = await import("jsroot/tree");
  let values = 0;
  const t0 = performance.now();
  for (let k = 0; k < n; k++) {
    const source = await RootSource.open(file, path.basename(file));
    const jsfile = await source.jsroot();
    const tree = await jsfile.readObject("events");
    const selector = new TSelector();
    for (const b of BRANCHES) selector.addBranch(b);
    let sum = 0;
    selector.Process = function (this: InstanceType<typeof TSelector>) {
      for (const b of BRANCHES) sum += this.tgtobj[b] as number;
      values += BRANCHES.length;
    };
    await treeProcess(tree, selector);
    if (!Number.isFinite(sum)) throw new Error("jsroot read non-numbers");
    jsfile.delete();
    await source.close();
  }
  return values / ((performance.now() - t0) / 1000);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-bench-root-"));
try {
  const rows: { name: string; files: number; mb: number; ms: number }[] = [];
  const cells = copies * 2304 * BRANCHES.length;
  const rootFiles: Record<string, string[]> = {};
  for (const variant of ["zlib", "uncompressed"]) {
    const src = path.join(dataDir, `uproot-Zmumu-${variant}.root`);
    rootFiles[variant] = Array.from({ length: copies }, (_, k) => {
      const name = `zmumu-${variant}-${k}.root`;
      fs.symlinkSync(src, path.join(dir, name));
      return name;
    });
  }
  // Warm-up (module loading, JIT), then the reference table for the Parquet files.
  const table = await loadTable(dir, { files: rootFiles.zlib, branches: BRANCHES });
  if (table.numRows * table.columns.size !== cells) throw new Error("unexpected table size");
  const one = await loadTable(dir, { files: [rootFiles.zlib![0]!], branches: BRANCHES });
  const parquet: Record<string, { big: string; small: string[]; mb: number; smallMb: number }> = {};
  for (const c of ["GZIP", "ZSTD"] as const) {
    const big = `zmumu-${c}.parquet`;
    const mb = (await writeParquet(table, path.join(dir, big), c)) / 1e6;
    const single = path.join(dir, `zmumu-${c}-one.parquet`);
    const smallMb = ((await writeParquet(one, single, c)) * copies) / 1e6;
    const small = Array.from({ length: copies }, (_, k) => {
      const name = `zmumu-${c}-${k}.parquet`;
      fs.symlinkSync(single, path.join(dir, name));
      return name;
    });
    parquet[c] = { big, small, mb, smallMb };
    await loadTable(dir, { files: [big] });
  }
  const rootMb = (v: string) =>
    (fs.statSync(path.join(dataDir, `uproot-Zmumu-${v}.root`)).size * copies) / 1e6;
  for (const v of ["zlib", "uncompressed"]) {
    const ms = await median(
      async () => void (await loadTable(dir, { files: rootFiles[v], branches: BRANCHES })),
    );
    rows.push({ name: `ROOT ${v}`, files: copies, mb: rootMb(v), ms });
  }
  for (const c of ["GZIP", "ZSTD"] as const) {
    const pc = parquet[c]!;
    const big = await median(async () => void (await loadTable(dir, { files: [pc.big] })));
    rows.push({ name: `Parquet ${c.toLowerCase()}, one file`, files: 1, mb: pc.mb, ms: big });
    const small = await median(async () => void (await loadTable(dir, { files: pc.small })));
    rows.push({
      name: `Parquet ${c.toLowerCase()}, one file per copy`,
      files: copies,
      mb: pc.smallMb,
      ms: small,
    });
  }
  const jsrootCopies = Math.max(1, Math.round(copies / 15));
  const jsrootRate = await jsrootPerEntry(path.join(dataDir, "uproot-Zmumu-zlib.root"), jsrootCopies);

  const rate = (ms: number) => cells / (ms / 1000);
  const find = (name: string) => rows.find((r) => r.name === name)!;
  console.log(
    `${copies} copies × 2304 events × ${BRANCHES.length} branches = ${cells} values; median of ${repeats}`,
  );
  console.log(
    `load average: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}\n`,
  );
  console.log("| read | files | MB on disk | ms | M values/s |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const r of rows)
    console.log(
      `| ${r.name} | ${r.files} | ${r.mb.toFixed(1)} | ${r.ms.toFixed(0)} | ${(rate(r.ms) / 1e6).toFixed(2)} |`,
    );
  console.log(
    `| jsroot treeProcess (entry by entry), zlib | ${jsrootCopies} | — | — | ${(jsrootRate / 1e6).toFixed(2)} |`,
  );
  console.log("\nROOT speed / Parquet speed (above 1: ROOT is faster):\n");
  console.log(
    "| ROOT | vs Parquet gzip (one file) | vs Parquet zstd (one file) | vs gzip (per copy) | vs zstd (per copy) |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const v of ["zlib", "uncompressed"]) {
    const ms = find(`ROOT ${v}`).ms;
    const ratio = (name: string) => (find(name).ms / ms).toFixed(2);
    console.log(
      `| ${v} | ${ratio("Parquet gzip, one file")} | ${ratio("Parquet zstd, one file")} | ` +
        `${ratio("Parquet gzip, one file per copy")} | ${ratio("Parquet zstd, one file per copy")} |`,
    );
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
