import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tableToArrowIPC } from "../core/arrow-codec.js";
import { StageError } from "../core/stage.js";
import { makeTable, type Column, type Table } from "../core/table.js";
import { loadStage } from "../stages/load.js";
import { writeHdf5Matrix, writeHdf5Table } from "../stages/lib/io/hdf5.js";
import { runStage } from "./support/stage-harness.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const dmDir = path.resolve(repoRoot, "..", "shared", "data", "atlas_dm_ml_notebook");
const fourTopDir = path.resolve(repoRoot, "..", "shared", "data", "acquaviva_4top_vs_ttbar");

let tmp = "";
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "quiver-load-"));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function load(params: Record<string, unknown>, baseDir = tmp) {
  const r = await runStage(loadStage, { params, baseDir });
  const out = r.outputs.table;
  assert.ok(out && out.kind === "table");
  return { table: out.table, summary: r.summary ?? {}, notes: r.notes };
}

async function loadError(params: Record<string, unknown>, code: string, baseDir = tmp): Promise<StageError> {
  try {
    await load(params, baseDir);
  } catch (e) {
    assert.ok(e instanceof StageError, `expected StageError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected StageError ${code}`);
}

function col(t: Table, name: string): Column {
  const c = t.columns.get(name);
  assert.ok(c, `column ${name}`);
  return c;
}

function nums(t: Table, name: string): number[] {
  const c = col(t, name);
  assert.notEqual(c.type, "dict");
  return Array.from((c as { values: ArrayLike<number> }).values);
}

function strs(t: Table, name: string): (string | null)[] {
  const c = col(t, name);
  assert.equal(c.type, "dict");
  return Array.from(c.codes, (k) => (k < 0 ? null : c.dictionary[k]!));
}

const sample: Table = {
  numRows: 4,
  columns: new Map<string, Column>([
    ["pt", { type: "float64", values: new Float64Array([10.5, NaN, 30.25, -1e-300]) }],
    ["n", { type: "int32", values: new Int32Array([1, -2, 3, 2147483647]) }],
    ["kind", { type: "dict", codes: new Int32Array([0, 1, -1, 0]), dictionary: ["e", "γ photon"] }],
  ]),
};

function assertSameTable(actual: Table, expected: Table): void {
  assert.equal(actual.numRows, expected.numRows);
  assert.deepEqual([...actual.columns.keys()], [...expected.columns.keys()]);
  for (const [name, c] of expected.columns) {
    if (c.type === "dict") assert.deepEqual(strs(actual, name), strs(expected, name), name);
    else {
      assert.equal(col(actual, name).type, c.type, name);
      assert.deepEqual(nums(actual, name), Array.from(c.values), name);
    }
  }
}

const DM_FILES: [string, number, number][] = [
  ["Non-resonant_ll", 901, 80.7244],
  ["Z+jets", 237, 54.9655],
  ["WZ", 12363, 57.9246],
  ["ZZ", 9538, 136.393],
  ["DM_300", 491, 31.1061],
];

void describe("load: real data", () => {
  void test("dark-matter CSVs: row counts, 11 columns and sum |totalWeight| as in SOURCE.md", async (t) => {
    if (!existsSync(dmDir)) return t.skip("shared/data/atlas_dm_ml_notebook is not present");
    for (const [name, rows, absWeight] of DM_FILES) {
      const { table } = await load({ files: [`${name}.csv`] }, dmDir);
      assert.equal(table.numRows, rows, name);
      assert.equal(table.columns.size, 11, name);
      const w = nums(table, "totalWeight").reduce((s, v) => s + Math.abs(v), 0);
      assert.ok(Math.abs(w - absWeight) < 1e-3, `${name}: ${w} vs ${absWeight}`);
    }
  });

  void test("the five processes concatenate with sample and label columns into 23530 rows", async (t) => {
    if (!existsSync(dmDir)) return t.skip("shared/data/atlas_dm_ml_notebook is not present");
    const files = DM_FILES.map(([name]) => ({
      path: `${name}.csv`,
      add: { sample: name, label: name === "DM_300" ? 1 : 0 },
    }));
    const { table, summary } = await load({ files }, dmDir);
    assert.equal(table.numRows, 23530);
    assert.equal(col(table, "label").type, "int32");
    assert.equal(
      nums(table, "label").reduce((s, v) => s + v, 0),
      491,
    );
    const samples = strs(table, "sample");
    assert.equal(samples.filter((s) => s === "WZ").length, 12363);
    assert.equal(samples[0], "Non-resonant_ll");
    assert.deepEqual(
      (summary.files as { rows: number }[]).map((f) => f.rows),
      [901, 237, 12363, 9538, 491],
    );
    assert.equal(col(table, "N_bjets").type, "int32");
  });

  void test("4-top features joined with the header-less label file: 5000 rows, 811 positives", async (t) => {
    if (!existsSync(fourTopDir)) return t.skip("shared/data/acquaviva_4top_vs_ttbar is not present");
    const { table, summary } = await load(
      { files: ["Features_lim_2.csv"], labels: { path: "Labels_lim_2.txt", type: "int32" } },
      fourTopDir,
    );
    assert.equal(table.numRows, 5000);
    assert.equal(table.columns.size, 25);
    assert.equal(col(table, "label").type, "int32");
    assert.equal(
      nums(table, "label").reduce((s, v) => s + v, 0),
      811,
    );
    assert.deepEqual(summary.labels, {
      path: "Labels_lim_2.txt",
      column: "label",
      rows: 5000,
      type: "int32",
    });
    assert.equal(nums(table, "MET")[0], 62803.5);
  });
});

void describe("load: files and options", () => {
  void test("files whose columns differ: a clear error, or columns: chooses", async () => {
    await writeFile(path.join(tmp, "a.csv"), "x,y,z\n1,2,3\n");
    await writeFile(path.join(tmp, "b.csv"), "y,x,w\n4,5,6\n");
    const e = await loadError({ files: ["a.csv", "b.csv"] }, "QV_LOAD_COLUMNS_DIFFER");
    assert.match(e.message, /b\.csv lacks "z" and has extra "w"/);
    assert.match(e.hint ?? "", /columns: \[x, y\]/);
    const { table } = await load({ files: ["a.csv", "b.csv"], columns: ["y", "x"] });
    assert.deepEqual([...table.columns.keys()], ["y", "x"]);
    assert.deepEqual(nums(table, "x"), [1, 5]);
    await loadError({ files: ["a.csv"], columns: ["x", "q"] }, "QV_LOAD_UNKNOWN_COLUMN");
  });

  void test("same columns in another order, int and float mixed across files", async () => {
    await writeFile(path.join(tmp, "c.csv"), "a,b\n1,x\n");
    await writeFile(path.join(tmp, "d.csv"), "b,a\ny,2.5\n");
    const { table } = await load({ files: ["c.csv", "d.csv"] });
    assert.deepEqual([...table.columns.keys()], ["a", "b"]);
    assert.equal(col(table, "a").type, "float64");
    assert.deepEqual(nums(table, "a"), [1, 2.5]);
    assert.deepEqual(strs(table, "b"), ["x", "y"]);
    await writeFile(path.join(tmp, "e.csv"), "a,b\n1,2\n");
    const err = await loadError({ files: ["c.csv", "e.csv"] }, "QV_LOAD_TYPE_MISMATCH");
    assert.match(err.message, /column "b" is text in c\.csv but numeric in e\.csv/);
  });

  void test("missing values are kept, reported, filled on request, or an error", async () => {
    await writeFile(path.join(tmp, "m.csv"), "pt,eta,s\n1,0.5,a\n,NaN,\n3,1.5,b\n");
    const kept = await load({ files: ["m.csv"] });
    assert.deepEqual(kept.summary.missing, { pt: 1, eta: 1, s: 1 });
    assert.match(kept.notes.join("\n"), /3 missing value\(s\) kept in 3 column\(s\)/);
    assert.ok(Number.isNaN(nums(kept.table, "pt")[1]));
    const filled = await load({ files: ["m.csv"], fill: -999 });
    assert.deepEqual(nums(filled.table, "pt"), [1, -999, 3]);
    assert.deepEqual(filled.summary.filled, { pt: 1, eta: 1 });
    const perColumn = await load({ files: ["m.csv"], fill: { s: "none", pt: 0 }, types: { pt: "int32" } });
    assert.deepEqual(strs(perColumn.table, "s"), ["a", "none", "b"]);
    assert.equal(col(perColumn.table, "pt").type, "int32");
    const e = await loadError({ files: ["m.csv"], fill: { pt: 0 }, missing: "error" }, "QV_LOAD_MISSING");
    assert.deepEqual(e.data, { file: "m.csv", row: 2, column: "eta" });
    await loadError({ files: ["m.csv"], fill: { s: 1 } }, "QV_LOAD_FILL_TYPE");
    await loadError({ files: ["m.csv"], fill: { pz: 1 } }, "QV_LOAD_UNKNOWN_COLUMN");
  });

  void test("types: int32 on a column with missing values or fractions is a located error", async () => {
    await writeFile(path.join(tmp, "f1.csv"), "a\n1\n2\n");
    await writeFile(path.join(tmp, "f2.csv"), "a\n3\n4.5\n");
    const e = await loadError({ files: ["f1.csv", "f2.csv"], types: { a: "int32" } }, "QV_LOAD_TYPE");
    assert.deepEqual(e.data, { file: "f2.csv", row: 2, column: "a" });
    const s = await load({ files: ["f1.csv"], types: { a: "string" } });
    assert.deepEqual(strs(s.table, "a"), ["1", "2"]);
  });

  void test("text in a numeric column is an error naming file, row and column", async () => {
    await writeFile(path.join(tmp, "bad.csv"), "pt,eta\n1,2\n3,abc\n");
    await writeFile(path.join(tmp, "good.csv"), "pt,eta\n1,2\n");
    const rows = ["pt,eta", ...Array.from({ length: 1100 }, (_, i) => `${i},${i}`), "5,abc"].join("\n");
    await writeFile(path.join(tmp, "late.csv"), rows + "\n");
    const e = await loadError({ files: ["good.csv", "late.csv"] }, "QV_LOAD_NOT_A_NUMBER");
    assert.deepEqual(e.data, { file: "late.csv", row: 1101, column: "eta" });
  });

  void test("labels: a row-count mismatch names both counts", async () => {
    await writeFile(path.join(tmp, "feat.csv"), "a,b\n1,2\n3,4\n5,6\n");
    await writeFile(path.join(tmp, "lab.txt"), "0\n1\n");
    const e = await loadError({ files: ["feat.csv"], labels: { path: "lab.txt" } }, "QV_LOAD_LABELS");
    assert.match(e.message, /2 label\(s\) but the data has 3 row\(s\)/);
    await writeFile(path.join(tmp, "lab3.txt"), "signal\nbkg\nsignal\n");
    const { table } = await load({ files: ["feat.csv"], labels: { path: "lab3.txt", column: "y" } });
    assert.deepEqual(strs(table, "y"), ["signal", "bkg", "signal"]);
  });

  void test("empty file is an error; header-only gives zero rows; a NaN in a cut variable is kept and counted", async () => {
    await writeFile(path.join(tmp, "empty.csv"), "");
    await loadError({ files: ["empty.csv"] }, "QV_LOAD_EMPTY");
    await writeFile(path.join(tmp, "hdr.csv"), "pt,eta\n");
    const h = await load({ files: ["hdr.csv"] });
    assert.equal(h.table.numRows, 0);
    assert.equal(col(h.table, "pt").type, "float64");
    await writeFile(path.join(tmp, "nan.csv"), "pt,eta\n10,nan\n20,1\n");
    const n = await load({ files: ["nan.csv"] });
    assert.deepEqual(n.summary.missing, { eta: 1 });
    await loadError({ files: ["nope.csv"] }, "QV_LOAD_OPEN");
  });

  void test("a ragged row is an error with its row and line", async () => {
    await writeFile(path.join(tmp, "rag.csv"), "a,b\n1,2\n3,4,5\n");
    const e = await loadError({ files: ["rag.csv"] }, "QV_LOAD_RAGGED");
    assert.match(e.message, /rag\.csv: row 2 \(line 3\) has 3 field\(s\)/);
  });

  void test("gzip-compressed CSV and TSV", async () => {
    const { gzipSync } = await import("node:zlib");
    await writeFile(path.join(tmp, "z.tsv.gz"), gzipSync("a\tb\n1\t2\n"));
    const { table, summary } = await load({ files: ["z.tsv.gz"] });
    assert.deepEqual(nums(table, "b"), [2]);
    assert.equal((summary.files as { delimiter: string }[])[0]!.delimiter, "\t");
  });
});

void describe("load: Parquet, Arrow, HDF5", () => {
  void test("Arrow IPC / Feather v2 round trip", async () => {
    await writeFile(path.join(tmp, "t.arrow"), await tableToArrowIPC(sample));
    assertSameTable((await load({ files: ["t.arrow"] })).table, sample);
    await writeFile(path.join(tmp, "t.feather"), Buffer.from("FEA1xxxxxxxx"));
    await loadError({ files: ["t.feather"] }, "QV_LOAD_FORMAT");
  });

  void test("Parquet written by parquet-wasm reads back, also detected by magic bytes", async () => {
    const pq = await import("parquet-wasm");
    const arrow = await import("apache-arrow");
    const stream = arrow.tableToIPC(arrow.tableFromIPC(await tableToArrowIPC(sample)), "stream");
    const bytes = pq.writeParquet(pq.Table.fromIPCStream(stream));
    await writeFile(path.join(tmp, "t.parquet"), bytes);
    await writeFile(path.join(tmp, "t-parquet.bin"), bytes);
    assertSameTable((await load({ files: ["t.parquet"] })).table, sample);
    const byMagic = await load({ files: ["t-parquet.bin"] });
    assert.equal((byMagic.summary.files as { format: string }[])[0]!.format, "parquet");
    await writeFile(path.join(tmp, "cut.parquet"), bytes.subarray(0, bytes.length - 20));
    await loadError({ files: ["cut.parquet"] }, "QV_LOAD_PARQUET");
    await writeFile(path.join(tmp, "fake.parquet"), "a,b\n1,2\n");
    await loadError({ files: ["fake.parquet"] }, "QV_LOAD_FORMAT");
  });

  void test("HDF5 compound dataset written by writeHdf5Table reads back", async () => {
    const file = path.join(tmp, "photons.h5");
    await writeHdf5Table(file, "l1pf_egm_reg", sample);
    const { table, summary } = await load({ files: ["photons.h5"] });
    assertSameTable(table, sample);
    assert.deepEqual((summary.files as Record<string, unknown>[])[0], {
      path: "photons.h5",
      format: "hdf5",
      rows: 4,
      bytes: (summary.files as { bytes: number }[])[0]!.bytes,
      dataset: "/l1pf_egm_reg",
      layout: "compound",
    });
  });

  void test("HDF5 2-D matrix (no stored names): columns named by names:, a count mismatch is an error", async () => {
    const numeric = makeTable([
      ["a", { type: "float64", values: Float64Array.from([1.5, 2.5, NaN]) }],
      ["b", { type: "float64", values: Float64Array.from([-1, 0, 1e300]) }],
    ]);
    await writeHdf5Matrix(path.join(tmp, "matrix.h5"), "m", numeric);
    const unnamed = await load({ files: ["matrix.h5"] });
    assert.deepEqual([...unnamed.table.columns.keys()], ["column_1", "column_2"]);
    assert.equal((unnamed.summary.files as { layout: string }[])[0]!.layout, "matrix");
    const named = await load({ files: ["matrix.h5"], names: ["a", "b"] });
    assertSameTable(named.table, numeric);
    await loadError({ files: ["matrix.h5"], names: ["a"] }, "QV_LOAD_NAMES");
  });

  void test("HDF5: several tables need dataset:, with suggestions; nested paths and column groups", async () => {
    const file = path.join(tmp, "multi.h5");
    await writeHdf5Table(file, "sig/events", sample);
    await writeHdf5Table(file, "bkg/events", sample, "a");
    const e = await loadError({ files: ["multi.h5"] }, "QV_LOAD_HDF5_DATASET");
    assert.match(e.hint ?? "", /\/bkg\/events \(compound\), \/sig\/events \(compound\)/);
    const one = await load({ files: ["multi.h5"], dataset: "sig/events" });
    assert.equal(one.table.numRows, 4);
    const typo = await loadError({ files: ["multi.h5"], dataset: "/sig/event" }, "QV_LOAD_HDF5_DATASET");
    assert.match(typo.hint ?? "", /did you mean "\/sig\/events"/);

    const h5 = (await import("h5wasm/node")).default;
    await h5.ready;
    const colsFile = path.join(tmp, "cols.h5");
    const f = new h5.File(colsFile, "w");
    const g = f.create_group("tree");
    g.create_dataset({ name: "pt", data: new Float64Array([1, 2, 3]) });
    g.create_dataset({ name: "n", data: new Int32Array([4, 5, 6]) });
    f.close();
    const c = await load({ files: ["cols.h5"] });
    assert.deepEqual(nums(c.table, "pt"), [1, 2, 3]);
    assert.equal(col(c.table, "n").type, "int32");
    assert.equal((c.summary.files as { layout: string }[])[0]!.layout, "column-group");
  });

  void test("HDF5: pandas fixed-format frame (axis0 / block0_items / block0_values)", async () => {
    const h5 = (await import("h5wasm/node")).default;
    await h5.ready;
    const file = path.join(tmp, "pandas.h5");
    const f = new h5.File(file, "w");
    const g = f.create_group("df");
    g.create_attribute("pandas_type", "frame");
    g.create_dataset({ name: "axis0", data: ["a", "b", "k"], dtype: "S1" });
    g.create_dataset({ name: "axis1", data: new BigInt64Array([0n, 1n]) });
    g.create_dataset({ name: "block0_items", data: ["a", "b"], dtype: "S1" });
    g.create_dataset({ name: "block0_values", data: new Float64Array([1, 2, 3, 4]), shape: [2, 2] });
    g.create_dataset({ name: "block1_items", data: ["k"], dtype: "S1" });
    g.create_dataset({ name: "block1_values", data: new BigInt64Array([7n, 8n]), shape: [2, 1] });
    f.close();
    const { table } = await load({ files: ["pandas.h5"] });
    assert.deepEqual([...table.columns.keys()], ["a", "b", "k"]);
    assert.deepEqual(nums(table, "a"), [1, 3]);
    assert.deepEqual(nums(table, "b"), [2, 4]);
    assert.deepEqual(nums(table, "k"), [7, 8]);
  });

  void test("a file that is not HDF5 is a clear error", async () => {
    await writeFile(path.join(tmp, "not.h5"), "a,b\n1,2\n");
    await loadError({ files: ["not.h5"] }, "QV_LOAD_HDF5");
  });
});
