import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import fc from "fast-check";
import { compress as snappyCompress } from "snappyjs";
import { writeParquetFile } from "../core/parquet-write.js";
import { StageError } from "../core/stage.js";
import type { Column, Table } from "../core/table.js";
import { readParquet, type ParquetReadOptions } from "../stages/lib/io/parquet.js";
import { snappyDecompress } from "../stages/lib/io/parquet-snappy.js";
import { ARROW_RS_FILES, DUCKDB_FILES } from "./fixtures/parquet/make.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const fixtures = path.join(repoRoot, "test", "fixtures", "parquet");
const expected = JSON.parse(fs.readFileSync(path.join(fixtures, "expected.json"), "utf8")) as {
  rows: number;
  columns: Record<string, (number | string | boolean | null)[]>;
};

function source(file: string) {
  return {
    path: file,
    name: path.basename(file),
    gzip: false,
    bytes: () => Promise.resolve(fs.readFileSync(file)),
  };
}

async function read(file: string, opts: ParquetReadOptions = {}): Promise<Table> {
  return (await readParquet(source(file), opts)).table;
}

/** The column as JSON-like values: null for NaN / missing, numbers, strings. */
function cells(c: Column): (number | string | null)[] {
  switch (c.type) {
    case "float64":
      return Array.from(c.values, (v) => (Number.isNaN(v) ? null : v));
    case "int32":
      return Array.from(c.values);
    case "dict":
      return Array.from(c.codes, (k) => (k < 0 ? null : c.dictionary[k]!));
  }
}

function assertExpected(t: Table, file: string): void {
  assert.equal(t.numRows, expected.rows, file);
  assert.deepEqual([...t.columns.keys()], Object.keys(expected.columns), file);
  for (const [name, want] of Object.entries(expected.columns)) {
    const got = cells(t.columns.get(name)!);
    const norm = want.map((v) => (typeof v === "boolean" ? Number(v) : v));
    assert.deepEqual(got, norm, `${file}: column ${name}`);
  }
  // The Arrow codec's type mapping: int32 and booleans without nulls stay int32.
  const types = Object.fromEntries([...t.columns].map(([n, c]) => [n, c.type]));
  assert.equal(types.i32, "int32", file);
  assert.equal(types.bool, "int32", file);
  assert.equal(types.i32_null, "float64", file);
  assert.equal(types.bool_null, "float64", file);
  assert.equal(types.i8, "float64", file);
  assert.equal(types.str_few, "dict", file);
}

describe("Parquet reader", () => {
  for (const file of [...Object.keys(DUCKDB_FILES), ...ARROW_RS_FILES]) {
    void test(`${file}: every type, compression and encoding reads as DuckDB reads it`, async () => {
      assertExpected(await read(path.join(fixtures, file)), file);
    });
  }

  void test("dictionaries are in order of first appearance, holding only the strings that occur", async () => {
    const t = await read(path.join(fixtures, "duckdb-snappy.parquet"));
    const c = t.columns.get("str_few")!;
    assert.equal(c.type, "dict");
    assert.deepEqual(c.dictionary, ["alpha", "beta", "gamma", "δέλτα", ""]);
  });

  void test("only the kept columns are decoded, in file order", async () => {
    const t = await read(path.join(fixtures, "duckdb-zstd.parquet"), {
      keep: new Set(["str_many", "f64", "nope"]),
    });
    assert.deepEqual([...t.columns.keys()], ["f64", "str_many"]);
    assert.deepEqual(cells(t.columns.get("f64")!), expected.columns.f64);
  });

  void test("one thread and two threads give identical tables", async () => {
    for (const file of ["duckdb-snappy.parquet", "duckdb-v2.parquet", "arrow-rs-v2.parquet"]) {
      const one = await read(path.join(fixtures, file), { threads: 1 });
      const two = await readParquet(source(path.join(fixtures, file)), { threads: 2, workerMinBytes: 0 });
      assert.equal(two.threads, 2);
      assert.deepEqual(two.table, one, file);
    }
  });

  void test("unsupported types are refused with the column named, unless left out", async () => {
    const file = path.join(fixtures, "duckdb-unsupported.parquet");
    const t = await read(file, { keep: new Set(["x"]) });
    assert.deepEqual(cells(t.columns.get("x")!), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const [column, words] of [
      ["list", /nested column/],
      ["day", /DATE is not supported/],
      ["blob", /binary data/],
    ] as const) {
      await assert.rejects(read(file, { keep: new Set(["x", column]) }), (e: unknown) => {
        assert.ok(e instanceof StageError);
        assert.equal(e.code, "QV_LOAD_PARQUET");
        assert.equal(e.data?.column, column);
        assert.match(e.message, words);
        assert.match(e.message, /duckdb-unsupported\.parquet: column/);
        return true;
      });
    }
  });

  void test("an unsupported compression is refused with the codec and column named", async () => {
    await assert.rejects(read(path.join(fixtures, "duckdb-lz4.parquet")), (e: unknown) => {
      assert.ok(e instanceof StageError);
      assert.equal(e.code, "QV_LOAD_PARQUET");
      assert.match(e.message, /column "x": row group 0 is compressed with LZ4_RAW/);
      return true;
    });
  });

  void test("damage inside a page is reported with the column, row group, rows and page", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-parquet-"));
    try {
      const bytes = fs.readFileSync(path.join(fixtures, "duckdb-uncompressed.parquet"));
      // Garble the first page header of the first column chunk (it starts right after "PAR1").
      const bad = Buffer.from(bytes);
      for (let i = 4; i < 12; i++) bad[i] = 0xff;
      const file = path.join(tmp, "bad.parquet");
      fs.writeFileSync(file, bad);
      await assert.rejects(read(file), (e: unknown) => {
        assert.ok(e instanceof StageError);
        assert.equal(e.code, "QV_LOAD_PARQUET");
        assert.match(
          e.message,
          /bad\.parquet: column "i32", row group 0 \(rows 1–\d+, chunk at byte 4\): bad page header at byte 0/,
        );
        return true;
      });
      fs.writeFileSync(file, bytes.subarray(0, bytes.length - 10));
      await assert.rejects(read(file), /QV_LOAD_PARQUET|does not end with "PAR1"/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  void test("snappy pages decompress as snappyjs compressed them (random and repetitive data)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        (bytes, repeat, alphabet) => {
          const data = new Uint8Array(bytes.length * (repeat % 5 === 0 ? repeat : 1));
          for (let i = 0; i < data.length; i++) data[i] = bytes[i % bytes.length]! % (alphabet * 32);
          const packed = snappyCompress(data);
          const out = new Uint8Array(data.length);
          snappyDecompress(packed, out);
          assert.deepEqual(out, data);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("Parquet writer (quiver export)", () => {
  const table: Table = {
    numRows: 2500,
    columns: new Map<string, Column>([
      [
        "x",
        {
          type: "float64",
          values: Float64Array.from({ length: 2500 }, (_, i) => (i === 7 ? NaN : Math.sin(i) * 1e3)),
        },
      ],
      ["n", { type: "int32", values: Int32Array.from({ length: 2500 }, (_, i) => i * 31 - 9000) }],
      [
        "s",
        {
          type: "dict",
          codes: Int32Array.from({ length: 2500 }, (_, i) => (i % 9 === 4 ? -1 : i % 3)),
          dictionary: ["a", "é", "c c"],
        },
      ],
    ]),
  };

  void test("round-trips through Quiver's reader and reads in DuckDB with its metadata", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-parquet-"));
    try {
      const file = path.join(tmp, "out.parquet");
      const metadata = {
        "quiver.provenance": JSON.stringify({ stage: "s", key: "k" }),
        "quiver.units": '{"x":"GeV"}',
      };
      await writeParquetFile(file, table, { metadata, rowGroupRows: 1000, pageRows: 300 });
      const back = await read(file);
      assert.deepEqual(cells(back.columns.get("x")!), cells(table.columns.get("x")!));
      assert.deepEqual(back.columns.get("n"), table.columns.get("n"));
      assert.deepEqual(cells(back.columns.get("s")!), cells(table.columns.get("s")!));

      const db = await DuckDBInstance.create(":memory:", { threads: "1" });
      const con = await db.connect();
      const rows = (
        await con.runAndReadAll(
          `SELECT count(*)::INTEGER, sum(n)::DOUBLE, count(s)::INTEGER, sum(CASE WHEN isnan(x) THEN 0 ELSE x END) FROM '${file}'`,
        )
      ).getRows()[0]!;
      const xs = (table.columns.get("x") as { values: Float64Array }).values;
      const ns = (table.columns.get("n") as { values: Int32Array }).values;
      assert.equal(rows[0], 2500);
      assert.equal(
        rows[1],
        ns.reduce((a, b) => a + b, 0),
      );
      assert.equal(rows[2], 2500 - Math.ceil((2500 - 4) / 9));
      assert.ok(Math.abs(Number(rows[3]) - xs.reduce((a, b) => (Number.isNaN(b) ? a : a + b), 0)) < 1e-6);
      const s = (await con.runAndReadAll(`SELECT s FROM '${file}' LIMIT 5`)).getRows().map((r) => r[0]);
      assert.deepEqual(s, ["a", "é", "c c", "a", null]);
      const kv = (
        await con.runAndReadAll(
          `SELECT decode(key), decode(value) FROM parquet_kv_metadata('${file}') ORDER BY 1`,
        )
      ).getRows();
      assert.deepEqual(kv, Object.entries(metadata).sort());
      const codecs = (
        await con.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`)
      ).getRows();
      assert.deepEqual(codecs, [["ZSTD"]]);
      con.closeSync();
      db.closeSync();

      // A second, independent implementation (arrow-rs): values, and the footer's key-value
      // metadata as the Arrow schema's metadata (where pyarrow puts it too).
      const pq = await import("parquet-wasm");
      const arrow = await import("apache-arrow");
      const viaRs = arrow.tableFromIPC(pq.readParquet(fs.readFileSync(file)).intoIPCStream());
      assert.equal(viaRs.numRows, table.numRows);
      assert.deepEqual(
        Array.from(viaRs.getChild("x")!.toArray() as Float64Array, (v) => (Number.isNaN(v) ? null : v)),
        cells(table.columns.get("x")!),
      );
      assert.deepEqual(
        Array.from(viaRs.getChild("n")!.toArray() as Int32Array),
        cells(table.columns.get("n")!),
      );
      assert.deepEqual(
        Array.from({ length: 5 }, (_, i) => viaRs.getChild("s")!.get(i) as string | null),
        ["a", "é", "c c", "a", null],
      );
      for (const [k, v] of Object.entries(metadata)) assert.equal(viaRs.schema.metadata.get(k), v, k);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe("quiver export --to FILE.parquet", () => {
  void test("writes the result with its provenance and the pipeline's and --unit units", async () => {
    const { Rig } = await import("./support/rig.js");
    const rig = Rig.create({
      "p.yaml": [
        "quiver: 1",
        "name: exporting",
        "units: { pt: GeV, other: m }",
        "stages:",
        "  data:",
        "    type: load",
        "    with: { files: [d.csv] }",
        "",
      ].join("\n"),
      "d.csv": "pt,eta,kind\n10.5,0.1,a\n20.25,-1.5,b\n30,2,a\n",
    });
    try {
      assert.equal((await rig.quiver("run", "p.yaml")).code, 0);
      const file = rig.path("out.parquet");
      const r = await rig.quiver("export", "p.yaml", "data.table", "--to", file, "--unit", "eta=1");
      assert.equal(r.code, 0, r.stderr);
      const back = await read(file);
      assert.deepEqual(cells(back.columns.get("pt")!), [10.5, 20.25, 30]);
      assert.deepEqual(cells(back.columns.get("kind")!), ["a", "b", "a"]);
      const db = await DuckDBInstance.create(":memory:", { threads: "1" });
      const con = await db.connect();
      const kv = new Map(
        (await con.runAndReadAll(`SELECT decode(key), decode(value) FROM parquet_kv_metadata('${file}')`))
          .getRows()
          .map((row) => [String(row[0]), String(row[1])]),
      );
      con.closeSync();
      db.closeSync();
      assert.deepEqual(JSON.parse(kv.get("quiver.units")!), { pt: "GeV", eta: "1" });
      const prov = JSON.parse(kv.get("quiver.provenance")!) as Record<string, string>;
      assert.equal(prov.pipeline, "exporting");
      assert.equal(prov.stage, "data");
      assert.equal(prov.port, "table");
      assert.match(prov.key!, /^[0-9a-f]{16,}$/);
      const bad = await rig.quiver("export", "p.yaml", "data.table", "--to", file, "--unit", "nope=1");
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /units: data\.table has no column "nope"/);
    } finally {
      rig.remove();
    }
  });
});

describe("Parquet reader on damaged files", () => {
  void test("random byte edits give a located StageError or a table, never another exception", async () => {
    const originals = [
      "duckdb-snappy.parquet",
      "duckdb-v2.parquet",
      "arrow-rs-v2.parquet",
      "duckdb-zstd.parquet",
    ].map((f) => fs.readFileSync(path.join(fixtures, f)));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-parquet-fuzz-"));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: originals.length - 1 }),
          fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 6,
          }),
          fc.boolean(),
          async (which, edits, nearFooter) => {
            const bytes = Buffer.from(originals[which]!);
            for (const [where, value] of edits) {
              // Half the runs aim at the footer, where a single byte changes sizes and offsets.
              const span = nearFooter ? Math.min(bytes.length, 2000) : bytes.length;
              bytes[bytes.length - span + Math.floor(where * (span - 1))] = value;
            }
            const file = path.join(tmp, "damaged.parquet");
            fs.writeFileSync(file, bytes);
            try {
              await read(file, { threads: 1 });
            } catch (e) {
              assert.ok(e instanceof StageError, `not a StageError: ${String((e as Error).stack)}`);
              assert.match(e.message, /damaged\.parquet/);
            }
          },
        ),
        { numRuns: Number(process.env.QUIVER_FUZZ_RUNS ?? 400) },
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  void test("on two threads, damage gives the one-thread outcome: the same table, or a located StageError", async () => {
    const originals = ["duckdb-snappy.parquet", "duckdb-v2.parquet", "arrow-rs-v2.parquet"].map((f) =>
      fs.readFileSync(path.join(fixtures, f)),
    );
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-parquet-fuzz2-"));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: originals.length - 1 }),
          fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 4,
          }),
          async (which, edits) => {
            const bytes = Buffer.from(originals[which]!);
            // Pages only (not the footer), so the read is planned and both threads decode.
            const body = bytes.length - 2000;
            for (const [where, value] of edits) bytes[4 + Math.floor(where * (body - 5))] = value;
            const file = path.join(tmp, "damaged.parquet");
            fs.writeFileSync(file, bytes);
            let one: Table | StageError;
            try {
              one = await read(file, { threads: 1 });
            } catch (e) {
              assert.ok(e instanceof StageError, `not a StageError: ${String((e as Error).stack)}`);
              one = e;
            }
            try {
              const two = await read(file, { threads: 2, workerMinBytes: 0 });
              assert.ok(!(one instanceof StageError), `two threads read what one thread refused`);
              assert.deepEqual(two, one);
            } catch (e) {
              assert.ok(e instanceof StageError, `not a StageError: ${String((e as Error).stack)}`);
              assert.ok(one instanceof StageError, `two threads refused what one thread read: ${e.message}`);
              assert.match(e.message, /damaged\.parquet/);
            }
          },
        ),
        { numRuns: Number(process.env.QUIVER_FUZZ_RUNS ?? 400) / 10 },
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
