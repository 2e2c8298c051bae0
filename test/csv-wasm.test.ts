/**
 * The WebAssembly number scanner (stages/lib/io/csv-wasm.ts) reads what the JavaScript parser
 * reads, bit for bit: random files whose numeric columns hold doubles in every written form, and
 * the fields it must leave to JavaScript (quoted, missing, spaced, infinite, over 19 digits, text),
 * parsed from its memory and from a plain buffer give the same table or the same located error,
 * on one thread and on two.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import fc from "fast-check";
import { StageError } from "../core/stage.js";
import { parseCsv, type CsvOptions } from "../stages/lib/io/csv.js";
import { parseCsvTwoThreads } from "../stages/lib/io/csv-parallel.js";
import { CSV_WASM_PATH, csvNumbersFor, csvSharedBuffer } from "../stages/lib/io/csv-wasm.js";

function inScannerMemory(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  const buf = csvSharedBuffer(bytes.length);
  assert.ok(buf, "a scanner memory could be made");
  bytes.copy(buf);
  assert.ok(csvNumbersFor(buf), "the buffer is read by the scanner");
  return buf;
}

type Outcome = ReturnType<typeof parseCsv> | StageError;

function outcome(read: () => ReturnType<typeof parseCsv>): Outcome {
  try {
    return read();
  } catch (e) {
    assert.ok(e instanceof StageError, String(e));
    return e;
  }
}

function assertSameOutcome(got: Outcome, want: Outcome): void {
  if (want instanceof StageError || got instanceof StageError) {
    assert.ok(got instanceof StageError && want instanceof StageError, "both read, or both refused");
    assert.equal(got.code, want.code);
    assert.equal(got.message, want.message);
    return;
  }
  assert.deepEqual(got, want);
}

/** A double as CSV files write it: shortest, 17 or 15 digits, exponent spellings, fixed. */
const number = fc
  .tuple(
    fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.double({ min: -1e4, max: 1e4, noNaN: true }),
      fc.integer({ min: -1e6, max: 1e6 }),
    ),
    fc.integer({ min: 0, max: 6 }),
  )
  .map(([x, form]) =>
    form === 0
      ? String(x)
      : form === 1
        ? x.toPrecision(17)
        : form === 2
          ? x.toPrecision(15)
          : form === 3
            ? x.toExponential(16).replace("e+", "E")
            : form === 4
              ? x.toExponential(19)
              : form === 5
                ? x.toFixed(Math.abs(x) < 1e21 ? 20 : 0)
                : String(Math.trunc(x)),
  );

/** Fields the scanner leaves to JavaScript, and some it must not mistake for numbers. */
const other = fc.constantFrom(
  "",
  "NA",
  "nan",
  "inf",
  "-Infinity",
  " 1.5",
  "2.5 ",
  '"3.25"',
  "1234567890123456789012",
  "0.00000000000000000000012345678901234567890",
  "1e400",
  "-1e-400",
  "x",
  "1.5x",
  "1e",
  "-",
  ".",
);

const file = fc
  .record({
    numericColumns: fc.integer({ min: 1, max: 6 }),
    textColumn: fc.boolean(),
    rows: fc.integer({ min: 1, max: 40 }),
    delimiter: fc.constantFrom(",", ";", "\t"),
    lineEnd: fc.constantFrom("\n", "\r\n", "\r"),
    finalLineEnd: fc.boolean(),
    seed: fc.array(fc.oneof({ weight: 6, arbitrary: number }, { weight: 1, arbitrary: other }), {
      minLength: 240,
      maxLength: 240,
    }),
  })
  .map((f) => {
    const names = Array.from({ length: f.numericColumns }, (_, c) => `x${c}`);
    if (f.textColumn) names.splice(1, 0, "label");
    const lines = [names.join(f.delimiter)];
    let k = 0;
    for (let r = 0; r < f.rows; r++) {
      const cells = names.map((n) => (n === "label" ? `l${r % 3}` : f.seed[k++ % f.seed.length]!));
      lines.push(cells.join(f.delimiter));
    }
    return { text: lines.join(f.lineEnd) + (f.finalLineEnd ? f.lineEnd : ""), delimiter: f.delimiter };
  });

void test("the scanner module has no data segment (the host owns all of its memory)", () => {
  const bytes = fs.readFileSync(CSV_WASM_PATH);
  let at = 8;
  const sections: number[] = [];
  while (at < bytes.length) {
    const id = bytes[at++]!;
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++]!;
      size |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    sections.push(id);
    at += size;
  }
  assert.ok(sections.includes(2), "the module imports its memory");
  assert.ok(!sections.includes(11), `sections ${sections.join(", ")} include a data segment`);
});

void test("a file of 2 GiB or more is left to the JavaScript parser (the scanner's positions are int32)", () => {
  assert.equal(csvSharedBuffer(2 ** 31), undefined);
});

void test("random files: the scanner's memory gives the JavaScript parser's table or error", () => {
  fc.assert(
    fc.property(file, ({ text, delimiter }) => {
      const opts: CsvOptions = { file: "random.csv", header: true, delimiter, inferRows: 1 };
      const want = outcome(() => parseCsv(Buffer.from(text, "utf8"), opts));
      assertSameOutcome(
        outcome(() => parseCsv(inScannerMemory(text), opts)),
        want,
      );
    }),
    { numRuns: 3000 },
  );
});

void test("every number form reads as Number() reads it, through the scanner", () => {
  fc.assert(
    fc.property(fc.array(number, { minLength: 1, maxLength: 200 }), (texts) => {
      const r = parseCsv(inScannerMemory("v\n" + texts.join("\n") + "\n"), {
        file: "numbers.csv",
        header: true,
        types: { v: "float64" },
      });
      const v = r.table.columns.get("v")!;
      assert.equal(v.type, "float64");
      if (v.type !== "float64") return;
      texts.forEach((t, i) => {
        const got = v.values[i];
        assert.ok(Object.is(got, Number(t)), `"${t}": got ${got}, Number() gives ${Number(t)}`);
      });
    }),
    { numRuns: 2000 },
  );
});

void test("two threads over the scanner's memory give one thread's table or error", async () => {
  await fc.assert(
    fc.asyncProperty(file, async ({ text, delimiter }) => {
      const opts: CsvOptions = { file: "random.csv", header: true, delimiter, inferRows: 1 };
      const want = outcome(() => parseCsv(Buffer.from(text, "utf8"), opts));
      let got: Outcome;
      try {
        got = await parseCsvTwoThreads(inScannerMemory(text), opts, 0);
      } catch (e) {
        assert.ok(e instanceof StageError, String(e));
        got = e;
      }
      assertSameOutcome(got, want);
    }),
    { numRuns: 40 },
  );
});
