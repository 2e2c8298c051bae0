/**
 * Two-thread CSV reads equal one-thread reads: the same table, or the same located error, on
 * files whose quoted fields hold newlines and quotes anywhere (so the cut may fall inside one).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { StageError } from "../core/stage.js";
import { parseCsv, type CsvOptions } from "../stages/lib/io/csv.js";
import { findCut, parseCsvTwoThreads } from "../stages/lib/io/csv-parallel.js";

function shared(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  const buf = Buffer.from(new SharedArrayBuffer(bytes.length));
  bytes.copy(buf);
  return buf;
}

async function sameAsOneThread(text: string, opts: CsvOptions): Promise<void> {
  let want: ReturnType<typeof parseCsv> | StageError;
  try {
    want = parseCsv(Buffer.from(text, "utf8"), opts);
  } catch (e) {
    assert.ok(e instanceof StageError, String(e));
    want = e;
  }
  try {
    const got = await parseCsvTwoThreads(shared(text), opts, 0);
    assert.ok(
      !(want instanceof StageError),
      `two threads read what one thread refused: ${want instanceof StageError ? want.message : ""}`,
    );
    assert.deepEqual(got, want);
  } catch (e) {
    if (!(e instanceof StageError)) throw e;
    assert.ok(want instanceof StageError, `two threads refused what one thread read: ${e.message}`);
    assert.equal(e.code, want.code);
    assert.equal(e.message, want.message);
  }
}

const cell = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom("", "NA", "x"),
  fc.string({ maxLength: 6 }).map((s) => `"${s.replaceAll('"', '""')}\n${s}"`),
);

void test("random files with quoted newlines: two threads give one thread's table or error", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(cell, cell, cell), { minLength: 2, maxLength: 60 }),
      fc.boolean(),
      async (rows, crlf) => {
        const nl = crlf ? "\r\n" : "\n";
        const text = "a,b,c" + nl + rows.map((r) => r.join(",")).join(nl) + nl;
        await sameAsOneThread(text, { file: "t.csv", header: true, inferRows: 5 });
      },
    ),
    { numRuns: 40 },
  );
});

void test("an error in the second half is located as a one-thread read locates it", async () => {
  const lines = ["x,y"];
  for (let i = 0; i < 2000; i++) lines.push(i === 1500 ? "7,oops" : `${i},${i * 0.5}`);
  const text = lines.join("\n") + "\n";
  await assert.rejects(parseCsvTwoThreads(shared(text), { file: "t.csv", header: true }, 0), (e: unknown) => {
    assert.ok(e instanceof StageError);
    assert.match(e.message, /t\.csv: row 1501 \(line 1502\), column "y": "oops" is not a number/);
    return true;
  });
});

void test("a cut inside a quoted field is moved past it; text columns merge in order of first appearance", async () => {
  const lines = ["id,note"];
  for (let i = 0; i < 1000; i++)
    lines.push(i % 100 === 50 ? `${i},"two\nlines ""quoted"""` : `${i},n${i % 7}`);
  const text = lines.join("\n") + "\n";
  const buf = shared(text);
  const cut = findCut(buf, 8);
  assert.ok(cut > 0 && buf[cut - 1] === 0x0a);
  await sameAsOneThread(text, { file: "t.csv", header: true });
  const r = await parseCsvTwoThreads(buf, { file: "t.csv", header: true }, 0);
  const note = r.table.columns.get("note")!;
  assert.equal(note.type, "dict");
  assert.deepEqual(note.dictionary.slice(0, 3), ["n0", "n1", "n2"]);
});
