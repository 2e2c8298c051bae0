import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { StageError } from "../core/stage.js";
import type { Column, Table } from "../core/table.js";
import { parseCsv, type CsvOptions } from "../stages/lib/io/csv.js";
import { NUM_BAD, NUM_MISSING, NUM_OK, parseNumber, type NumberScan } from "../stages/lib/io/csv-number.js";

const scan: NumberScan = { value: 0, isIntLiteral: false };
function num(text: string): { kind: number; value: number } {
  const b = Buffer.from(text, "latin1");
  const kind = parseNumber(b, 0, b.length, scan);
  return { kind, value: scan.value };
}

function csv(text: string | Buffer, opts: Partial<CsvOptions> = {}) {
  const buf = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  return parseCsv(buf, { file: "t.csv", header: true, ...opts });
}

function values(t: Table, name: string): (number | string | null)[] {
  const c = t.columns.get(name);
  assert.ok(c, `column ${name}`);
  return c.type === "dict"
    ? Array.from(c.codes, (k) => (k < 0 ? null : c.dictionary[k]!))
    : Array.from(c.values as ArrayLike<number>);
}

function stageError(fn: () => unknown, code: string): StageError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StageError, `expected StageError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected StageError ${code}`);
}

void describe("number parsing", () => {
  void test("is bit-identical to Number() for every textual form of random doubles", () => {
    const forms = (x: number, k: number): string[] => [
      String(x),
      x.toExponential(Math.min(k, 20)),
      x.toPrecision(Math.max(1, Math.min(k, 21))),
      Math.abs(x) < 1e21 ? x.toFixed(Math.min(k, 20)) : String(x),
      String(x).toUpperCase(),
      "+" + String(Math.abs(x)),
    ];
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: 0, max: 21 }),
        (x, k) => {
          for (const text of forms(x, k)) {
            const r = num(text);
            assert.equal(r.kind, NUM_OK, text);
            assert.ok(Object.is(r.value, Number(text)), `${text}: ${r.value} vs ${Number(text)}`);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  void test("is bit-identical to Number() on random digit strings (long mantissas, big exponents, leading zeros)", () => {
    const digits = fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: 30 });
    const text = fc
      .tuple(
        fc.constantFrom("", "-", "+"),
        digits,
        fc.option(fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: 30 })),
        fc.option(
          fc.tuple(
            fc.constantFrom("e", "E"),
            fc.constantFrom("", "-", "+"),
            fc.integer({ min: 0, max: 400 }),
          ),
        ),
      )
      .map(([s, a, b, e]) => `${s}${a}${b === null ? "" : "." + b}${e === null ? "" : e[0] + e[1] + e[2]}`);
    fc.assert(
      fc.property(text, (t) => {
        const r = num(t);
        assert.equal(r.kind, NUM_OK, t);
        assert.ok(Object.is(r.value, Number(t)), `${t}: ${r.value} vs ${Number(t)}`);
      }),
      { numRuns: 5000 },
    );
  });

  void test("rejects what is not a plain decimal number, and reads missing and infinity tokens", () => {
    for (const t of [
      "0x10",
      "1e",
      "1e+",
      "--1",
      "1.2.3",
      "abc",
      "1,5",
      "٣",
      "1_000",
      ".",
      "-",
      "e5",
      "Infinityx",
    ])
      assert.equal(num(t).kind, NUM_BAD, t);
    for (const t of ["", "  ", "NaN", "nan", "NA", "N/A", "null", "None"])
      assert.equal(num(t).kind, NUM_MISSING, t);
    assert.equal(num("inf").value, Infinity);
    assert.equal(num("-Infinity").value, -Infinity);
    assert.equal(num(" 1.5 ").value, 1.5);
    assert.equal(num(".5").value, 0.5);
    assert.equal(num("5.").value, 5);
    assert.ok(Object.is(num("-0").value, -0));
    assert.equal(num("12").kind, NUM_OK);
    assert.equal(scan.isIntLiteral, true);
    num("12.0");
    assert.equal(scan.isIntLiteral, false);
  });
});

void describe("CSV reader", () => {
  void test("reads numbers, ints and text with inferred types", () => {
    const r = csv("a,b,c\n1,2.5,x\n2,3,y\n3,-1e3,x\n");
    assert.equal(r.table.numRows, 3);
    assert.equal(r.table.columns.get("a")?.type, "int32");
    assert.equal(r.table.columns.get("b")?.type, "float64");
    assert.equal(r.table.columns.get("c")?.type, "dict");
    assert.deepEqual(values(r.table, "a"), [1, 2, 3]);
    assert.deepEqual(values(r.table, "b"), [2.5, 3, -1000]);
    assert.deepEqual(values(r.table, "c"), ["x", "y", "x"]);
  });

  void test("handles CRLF, a BOM, a missing final newline and blank lines at the end", () => {
    const text = "\uFEFFa,b\r\n1,2\r\n3,4\r\n\r\n\n";
    const r = csv(text);
    assert.deepEqual([...r.table.columns.keys()], ["a", "b"]);
    assert.deepEqual(values(r.table, "b"), [2, 4]);
    assert.deepEqual(values(csv("a,b\n1,2\n3,4").table, "b"), [2, 4]);
    assert.deepEqual(values(csv("a,b\r1,2\r3,4\r").table, "a"), [1, 3]);
  });

  void test('reads quoted fields with "" escapes, delimiters and newlines inside', () => {
    const r = csv('name,x\n"a, ""b""",1\n"multi\nline",2\n  "sp",3\n"4.5",4\n');
    assert.deepEqual(values(r.table, "name"), ['a, "b"', "multi\nline", "sp", "4.5"]);
    assert.deepEqual(values(r.table, "x"), [1, 2, 3, 4]);
    // A quoted number in a numeric column is a number.
    assert.deepEqual(values(csv('x\n"1.5"\n2\n').table, "x"), [1.5, 2]);
  });

  void test("missing values: empty fields and NA tokens are NaN in numbers, empty is missing in text", () => {
    const r = csv("x,s\n1,a\n,\nNaN,NA\n4,b\n");
    assert.deepEqual(values(r.table, "x"), [1, NaN, NaN, 4]);
    assert.deepEqual(values(r.table, "s"), ["a", null, "NA", "b"]);
    assert.deepEqual(r.missing, { x: 2, s: 1 });
    // A column with a missing value is float64 even if the rest are integers.
    assert.equal(r.table.columns.get("x")?.type, "float64");
  });

  void test("guesses tab, semicolon and bar delimiters; .tsv means tab", () => {
    assert.equal(csv("a\tb\n1\t2\n").delimiter, "\t");
    assert.equal(csv("a;b\n1,5;2\n").delimiter, ";");
    assert.equal(csv("a|b\n1|2\n").delimiter, "|");
    assert.equal(csv("a\n1\n", { tabByDefault: true }).delimiter, "\t");
    assert.deepEqual(values(csv("a b\n1 2\n", { delimiter: " " }).table, "b"), [2]);
  });

  void test("header-less files are named column_1… or by names:", () => {
    const r = csv("0.0\n1.0\n1.0\n", { header: false });
    assert.deepEqual(values(r.table, "column_1"), [0, 1, 1]);
    const named = csv("1,2\n3,4\n", { header: false, names: ["p", "q"] });
    assert.deepEqual(values(named.table, "q"), [2, 4]);
    stageError(() => csv("1,2\n", { header: false, names: ["p"] }), "QV_LOAD_NAMES");
  });

  void test("empty file is an error; a header-only file is a zero-row table of float64 columns", () => {
    stageError(() => csv(""), "QV_LOAD_EMPTY");
    stageError(() => csv("\uFEFF\n\n"), "QV_LOAD_EMPTY");
    const r = csv("a,b\n");
    assert.equal(r.table.numRows, 0);
    assert.deepEqual(
      [...r.table.columns.values()].map((c: Column) => c.type),
      ["float64", "float64"],
    );
  });

  void test("ragged rows name the row, the line and the field counts", () => {
    const e = stageError(() => csv("a,b\n1,2\n\n3\n4,5\n"), "QV_LOAD_RAGGED");
    assert.match(e.message, /row 2 \(line 4\) has 1 field\(s\), expected 2/);
    assert.deepEqual(e.data, { file: "t.csv", row: 2 });
    const t = stageError(() => csv("a,b\n1,2\n3"), "QV_LOAD_RAGGED");
    assert.match(t.hint ?? "", /truncated/);
    stageError(() => csv("a,b\n1,2,3\n"), "QV_LOAD_RAGGED");
  });

  void test("text in a numeric column names file, row, line and column, with a types: hint", () => {
    const rows = Array.from({ length: 1500 }, (_, i) => `${i},${i * 0.5}`);
    rows[1200] = "1200,oops";
    const e = stageError(() => csv("id,x\n" + rows.join("\n") + "\n"), "QV_LOAD_NOT_A_NUMBER");
    assert.match(e.message, /t\.csv: row 1201 \(line 1202\), column "x": "oops" is not a number/);
    assert.deepEqual(e.data, { file: "t.csv", row: 1201, column: "x" });
    assert.match(e.hint ?? "", /types: \{x: string\}/);
    // Forcing the column to text reads it.
    const r = csv("id,x\n" + rows.join("\n") + "\n", { types: { x: "string" } });
    assert.equal(r.table.columns.get("x")?.type, "dict");
  });

  void test("a column empty in the sampled rows is decided by all its values", () => {
    const rows = Array.from({ length: 20 }, (_, i) => `${i},`);
    const numeric = csv("a,b\n" + rows.join("\n") + "\n20,7.5\n", { inferRows: 5 });
    assert.equal(numeric.table.columns.get("b")?.type, "float64");
    assert.equal(values(numeric.table, "b")[20], 7.5);
    const text = csv("a,b\n" + rows.join("\n") + "\n20,j\n", { inferRows: 5 });
    assert.deepEqual(values(text.table, "b").slice(19), [null, "j"]);
  });

  void test("unterminated and malformed quotes are located errors", () => {
    const e = stageError(() => csv('a,b\n1,"abc\n2,3\n'), "QV_LOAD_CSV_QUOTE");
    assert.match(e.message, /line 2/);
    const f = stageError(() => csv('a,b\n1,"abc"x\n'), "QV_LOAD_CSV_QUOTE");
    assert.match(f.message, /line 2: unexpected character "x"/);
  });

  void test("non-UTF-8 text is decoded with replacement characters and counted", () => {
    const buf = Buffer.concat([
      Buffer.from("s,x\n"),
      Buffer.from([0x61, 0xff, 0x62]),
      Buffer.from(",1\nok,2\n"),
    ]);
    const r = csv(buf);
    assert.deepEqual(values(r.table, "s"), ["a\uFFFDb", "ok"]);
    assert.equal(r.invalidUtf8, 1);
    assert.deepEqual(values(csv("s\nnaïve\n").table, "s"), ["naïve"]);
  });

  void test("UTF-16 and binary files are rejected with a hint", () => {
    stageError(() => csv(Buffer.from("\uFEFFa,b\n", "utf16le")), "QV_LOAD_ENCODING");
    const e = stageError(() => csv(Buffer.from("PAR1\0\0\0\0")), "QV_LOAD_BINARY");
    assert.match(e.hint ?? "", /Parquet/);
  });

  void test("duplicate header names are an error; empty header cells get column_<k>", () => {
    stageError(() => csv("a,b,a\n1,2,3\n"), "QV_LOAD_DUPLICATE_COLUMN");
    assert.deepEqual([...csv("a,,c\n1,2,3\n").table.columns.keys()], ["a", "column_2", "c"]);
  });

  void test("keep: parses only the listed columns (bad text elsewhere is not read)", () => {
    const r = csv("a,b\n1,x\n2,3\n", { keep: new Set(["a"]) });
    assert.deepEqual([...r.table.columns.keys()], ["a"]);
    assert.deepEqual(r.header, ["a", "b"]);
  });

  void test("large int literals and out-of-range ints stay float64", () => {
    assert.equal(csv("a\n1\n3000000000\n").table.columns.get("a")?.type, "float64");
    assert.equal(csv("a\n1\n-2147483648\n").table.columns.get("a")?.type, "int32");
  });
});
