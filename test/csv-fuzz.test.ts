/**
 * Reliability of the CSV reader on damaged input: random byte edits, truncation, BOMs, CRLF,
 * quoting, huge lines, invalid UTF-8. The property: the reader either throws a StageError (a
 * located, user-facing error) or returns exactly the table an independent, deliberately simple
 * string-based reference tokenizer describes. Never another exception, never a silently wrong table.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { StageError } from "../core/stage.js";
import { parseCsv } from "../stages/lib/io/csv.js";
import { MISSING_TOKENS } from "../stages/lib/io/csv-number.js";

interface RefField {
  raw: string;
}

/** A plain character-by-character tokenizer over the latin1 view of the bytes (1 char = 1 byte). */
function referenceTokenize(s: string, delim: string): RefField[][] | "error" {
  const records: RefField[][] = [];
  let i = 0;
  const n = s.length;
  const lineEnd = (k: number) => (s[k] === "\r" && s[k + 1] === "\n" ? k + 2 : k + 1);
  while (i < n) {
    let j = i;
    while (j < n && (s[j] === " " || s[j] === "\t") && s[j] !== delim) j++;
    if (j >= n) break;
    if (s[j] === "\n" || s[j] === "\r") {
      i = lineEnd(j);
      continue;
    }
    const rec: RefField[] = [];
    let endOfRecord = false;
    while (!endOfRecord) {
      let k = i;
      while (k < n && s[k] === " " && delim !== " ") k++;
      if (k < n && s[k] === '"') {
        let out = "";
        k++;
        for (;;) {
          if (k >= n) return "error";
          if (s[k] === '"') {
            if (s[k + 1] === '"') {
              out += '"';
              k += 2;
              continue;
            }
            break;
          }
          out += s[k];
          k++;
        }
        k++;
        while (k < n && s[k] === " " && delim !== " ") k++;
        rec.push({ raw: out });
        if (k >= n) {
          i = n;
          endOfRecord = true;
        } else if (s[k] === delim) i = k + 1;
        else if (s[k] === "\n" || s[k] === "\r") {
          i = lineEnd(k);
          endOfRecord = true;
        } else return "error";
      } else {
        let e = i;
        while (e < n && s[e] !== delim && s[e] !== "\n" && s[e] !== "\r") e++;
        rec.push({ raw: s.slice(i, e) });
        if (e >= n) {
          i = n;
          endOfRecord = true;
        } else if (s[e] === delim) i = e + 1;
        else {
          i = lineEnd(e);
          endOfRecord = true;
        }
      }
    }
    records.push(rec);
  }
  return records;
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INF: Record<string, number> = {
  inf: Infinity,
  Inf: Infinity,
  INF: Infinity,
  Infinity,
  "+inf": Infinity,
};
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });

function expectedNumber(raw: string): number | undefined {
  const t = raw.replace(/^[ \t]+|[ \t]+$/g, "");
  if (t === "" || MISSING_TOKENS.has(t)) return NaN;
  if (t in INF) return INF[t];
  if (t.startsWith("-") && t.slice(1) in INF) return -Infinity;
  if (t.startsWith("+") && t.slice(1) in INF) return Infinity;
  return NUMBER_RE.test(t) ? Number(t) : undefined;
}

function checkAgainstReference(buf: Buffer): void {
  let result;
  try {
    result = parseCsv(buf, { file: "fuzz.csv", header: true, inferRows: 8 });
  } catch (e) {
    if (!(e instanceof StageError)) throw e;
    // Located: the file, and the line (or row and line) unless the whole file is at fault.
    assert.match(
      e.message,
      /^fuzz\.csv: (line \d+: |row \d+ \(line \d+\)|the file is |this is not a text file|the header names)/,
      e.message,
    );
    return;
  }
  const bom = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  const records = referenceTokenize(buf.toString("latin1", bom), result.delimiter);
  assert.notEqual(records, "error", "the reader accepted input the reference tokenizer rejects");
  if (records === "error") return;
  const [header, ...rows] = records;
  assert.ok(header, "a table was returned for a file without a header");
  assert.equal(result.table.numRows, rows.length, "row count");
  for (const r of rows) assert.equal(r.length, header.length, "a ragged row was accepted");
  for (const [name, col] of result.table.columns) {
    const j = result.header.indexOf(name);
    rows.forEach((r, i) => {
      const raw = r[j]!.raw;
      if (col.type === "dict") {
        const code = col.codes[i]!;
        const want = raw === "" ? null : lenient.decode(Buffer.from(raw, "latin1"));
        assert.equal(code < 0 ? null : col.dictionary[code], want, `row ${i + 1} column ${name}`);
      } else {
        const want = expectedNumber(raw);
        assert.notEqual(
          want,
          undefined,
          `row ${i + 1} column ${name}: ${JSON.stringify(raw)} read as a number`,
        );
        assert.ok(Object.is(col.values[i], want), `row ${i + 1} column ${name}: ${col.values[i]} vs ${want}`);
      }
    });
  }
}

const numberText = fc.oneof(
  fc.double({ noNaN: true }).map(String),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x.toExponential(3)),
  fc.constantFrom("", "NaN", "NA", "inf", "-0", " 1.5 ", ".5", "1e400"),
);
const textCell = fc.string({
  unit: fc.constantFrom("a", "b", " ", ",", '"', "\n", "é", "x", "1", ";", "\t"),
});
const cell = fc.oneof({ arbitrary: numberText, weight: 3 }, { arbitrary: textCell, weight: 1 });
const quote = (s: string) => '"' + s.replaceAll('"', '""') + '"';
const needsQuote = (s: string) => /[",\n\r]/.test(s) || s.startsWith(" ");

const baseCsv = fc
  .tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 25 }), fc.boolean())
  .chain(([cols, nrows, quoteAll]) =>
    fc
      .array(fc.array(cell, { minLength: cols, maxLength: cols }), { minLength: nrows, maxLength: nrows })
      .map((rows) => {
        const header = Array.from({ length: cols }, (_, i) => `c${i}`).join(",");
        const body = rows.map((r) => r.map((v) => (quoteAll || needsQuote(v) ? quote(v) : v)).join(","));
        return [header, ...body].join("\n") + "\n";
      }),
  );

type Mutation =
  | { kind: "set"; at: number; byte: number }
  | { kind: "delete"; at: number }
  | { kind: "insert"; at: number; byte: number }
  | { kind: "truncate"; at: number }
  | { kind: "bom" }
  | { kind: "crlf" }
  | { kind: "huge"; at: number; length: number };

const interesting = fc.constantFrom(
  0x22,
  0x2c,
  0x0a,
  0x0d,
  0x20,
  0x00,
  0xff,
  0xc3,
  0x2d,
  0x2e,
  0x65,
  0x31,
  0x09,
);
const byte = fc.oneof(interesting, fc.integer({ min: 0, max: 255 }));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), byte }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("bom" as const) }),
  fc.record({ kind: fc.constant("crlf" as const) }),
  fc.record({
    kind: fc.constant("huge" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1000, max: 200000 }),
  }),
);

function mutate(text: string, ms: readonly Mutation[]): Buffer {
  let b = Buffer.from(text, "utf8");
  for (const m of ms) {
    const at = b.length ? ("at" in m ? m.at % (b.length + 1) : 0) : 0;
    switch (m.kind) {
      case "set":
        if (at < b.length) b[at] = m.byte;
        break;
      case "delete":
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        break;
      case "insert":
        b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)]);
        break;
      case "truncate":
        b = b.subarray(0, at);
        break;
      case "bom":
        b = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
        break;
      case "crlf":
        b = Buffer.from(b.toString("latin1").replaceAll("\n", "\r\n"), "latin1");
        break;
      case "huge":
        b = Buffer.concat([b.subarray(0, at), Buffer.alloc(m.length, 0x37), b.subarray(at)]);
        break;
    }
  }
  return b;
}

void test("undamaged generated CSVs are read exactly", () => {
  fc.assert(
    fc.property(baseCsv, (text) => {
      checkAgainstReference(Buffer.from(text, "utf8"));
    }),
    { numRuns: 400 },
  );
});

void test("damaged CSVs give a StageError or exactly the reference table, never a crash", () => {
  fc.assert(
    fc.property(baseCsv, fc.array(mutation, { minLength: 1, maxLength: 4 }), (text, ms) => {
      checkAgainstReference(mutate(text, ms));
    }),
    { numRuns: 1500 },
  );
});
