/**
 * CSV (and TSV, and header-less one-value-per-line text) to a columnar Table, in one pass over the
 * file's bytes after a short type-inference pass over its first rows.
 *
 * Conventions (documented in docs/stages/load.md):
 * - Column types are inferred from the first `inferRows` data rows: numeric when every non-empty
 *   value there is a number, text otherwise. A numeric column becomes int32 when every value in
 *   the whole file is an integer literal in int32 range and none is missing; otherwise float64.
 *   A column with no value at all in those rows is read as text and turned numeric at the end if
 *   every value turns out to be a number.
 * - A later non-number in a numeric column is an error naming the file, row, line and column.
 * - Missing: an empty field, or in numeric columns one of MISSING_TOKENS. NaN in float64, code -1
 *   in text columns (where only the empty field is missing: "NA" may be a real label).
 * - Text is decoded as UTF-8; invalid bytes become U+FFFD and are counted (`invalidUtf8`).
 */
import { own, setOwn } from "../../../core/dict.js";
import { StageError } from "../../../core/stage.js";
import type { Column, Table } from "../../../core/table.js";
import {
  K_NUM,
  K_SKIP,
  K_STR,
  parseCsvBody,
  type ColumnTypeName,
  type CsvBody,
  type CsvLayout,
} from "./csv-body.js";
import { CsvLexer, END_FIELD, END_FILE } from "./csv-lexer.js";
import { NUM_BAD, NUM_OK, parseNumber, type NumberScan } from "./csv-number.js";
import { checkEncoding, chooseDelimiter, dictionaryAsNumbers, toInt32, Utf8Decoder } from "./csv-support.js";

export interface CsvOptions {
  /** How the file is named in messages (the path as the user wrote it). */
  readonly file: string;
  /** One character; undefined = guess from the header line (comma, tab, semicolon or bar). */
  readonly delimiter?: string;
  readonly header: boolean;
  /** Column names: required to name columns of a header-less file, or renames a header's. */
  readonly names?: readonly string[];
  /** Forces columns to be read as numbers or as text (int32 is checked later, after `fill`). */
  readonly types?: Readonly<Record<string, ColumnTypeName>>;
  /** When given, only these columns are parsed; the others are skipped unread. */
  readonly keep?: ReadonlySet<string>;
  /** Rows used to infer column types (default 1000). */
  readonly inferRows?: number;
  /** Whether a `.tsv` extension makes tab the default delimiter. */
  readonly tabByDefault?: boolean;
}

export interface CsvResult {
  readonly table: Table;
  /** Every column name in the file, in order (including skipped ones). */
  readonly header: readonly string[];
  readonly missing: Readonly<Record<string, number>>;
  /** Text fields that held invalid UTF-8 (decoded with U+FFFD replacement characters). */
  readonly invalidUtf8: number;
  readonly delimiter: string;
}

export { K_NUM, K_SKIP, K_STR, type ColumnTypeName, type CsvBody, type CsvLayout } from "./csv-body.js";

export function parseCsv(buf: Buffer, opts: CsvOptions): CsvResult {
  const layout = prepareCsv(buf, opts);
  return finishCsv(layout, [parseCsvBody(buf, layout.dataStart, layout.dataLine, 0, layout)]);
}

/** Reads the header and samples the first rows: the column names, kinds and where data starts. */
export function prepareCsv(buf: Buffer, opts: CsvOptions): CsvLayout {
  const file = opts.file;
  let offset = checkEncoding(buf, file);
  const delimiter = chooseDelimiter(buf, offset, opts);
  const lex = new CsvLexer(buf, delimiter.charCodeAt(0), file);
  lex.pos = offset;
  if (!lex.skipBlankLines()) {
    throw new StageError("QV_LOAD_EMPTY", `${file}: the file is empty`, {
      hint: opts.header ? "a CSV file needs at least a header line" : "the file has no data lines",
      data: { file },
    });
  }
  const decoder = new Utf8Decoder();
  // Header (or, without one, count the fields of the first record and rewind).
  const firstFields: string[] = [];
  const headerStart = lex.pos;
  const headerLine = lex.line;
  do {
    lex.next();
    firstFields.push(opts.header ? decoder.decode(lex).trim() : "");
  } while (lex.terminator === END_FIELD);
  if (!opts.header) {
    lex.pos = headerStart;
    lex.line = headerLine;
  }
  const header = nameColumns(firstFields, opts, file);
  const ncol = header.length;
  offset = lex.pos;

  // Kinds: what to do with each column.
  const forced = opts.types ?? {};
  const kinds = new Uint8Array(ncol);
  for (let c = 0; c < ncol; c++) {
    const name = header[c]!;
    if (opts.keep && !opts.keep.has(name)) kinds[c] = K_SKIP;
    else if (own(forced, name) === "string") kinds[c] = K_STR;
    else kinds[c] = K_NUM;
  }
  const inferRows = opts.inferRows ?? 1000;
  const sampled = inferTypes(lex, kinds, header, forced, inferRows);
  return {
    file,
    header,
    delimiter,
    kinds,
    undecided: sampled.undecided,
    forced,
    inferRows,
    dataStart: offset,
    dataLine: sampled.dataLine,
    bytesPerRow: sampled.bytesPerRow,
    headerInvalidUtf8: decoder.invalid,
  };
}

/** The table from the bodies of consecutive stretches of the file, in order. */
export function finishCsv(layout: CsvLayout, bodies: readonly CsvBody[]): CsvResult {
  const { header, kinds, forced } = layout;
  const ncol = header.length;
  const rows = bodies.reduce((s, b) => s + b.rows, 0);
  const columns = new Map<string, Column>();
  const missingOut: Record<string, number> = {};
  for (let c = 0; c < ncol; c++) {
    const name = header[c]!;
    if (kinds[c] === K_SKIP) continue;
    const missing = bodies.reduce((s, b) => s + b.missing[c]!, 0);
    setOwn(missingOut, name, missing);
    if (kinds[c] === K_NUM) {
      const values = joined(
        bodies.map((b) => b.f64[c]!),
        bodies,
        rows,
        (n) => new Float64Array(n),
      );
      const intLiteral = bodies.every((b) => b.intLiteral[c] === 1);
      const asInt = intLiteral && missing === 0 && rows > 0 && own(forced, name) !== "float64";
      columns.set(
        name,
        asInt ? (toInt32(values) ?? { type: "float64", values }) : { type: "float64", values },
      );
    } else {
      const { codes, dictionary } = mergeTextColumn(bodies, c, rows);
      const numeric = layout.undecided[c] === 1 ? dictionaryAsNumbers(dictionary, codes) : undefined;
      columns.set(name, numeric ?? { type: "dict", codes, dictionary });
    }
  }
  return {
    table: { numRows: rows, columns },
    header,
    missing: missingOut,
    invalidUtf8: layout.headerInvalidUtf8 + bodies.reduce((s, b) => s + b.invalidUtf8, 0),
    delimiter: layout.delimiter,
  };
}

/**
 * The bodies' arrays of one column end to end. When the first body's array has room for all
 * rows (the reading thread sizes it for the whole file) the others are appended to it and a view
 * is returned, so the column is not copied once more; with little room to spare left unused.
 */
function joined<A extends Float64Array | Int32Array>(
  arrays: readonly A[],
  bodies: readonly CsvBody[],
  rows: number,
  make: (n: number) => A,
): A {
  const first = arrays[0]!;
  const fits = first.length >= rows && first.length - rows <= rows / 8 + 64;
  const out = fits ? first : make(rows);
  let at = 0;
  arrays.forEach((a, i) => {
    const n = bodies[i]!.rows;
    if (!(fits && i === 0)) out.set(a.subarray(0, n), at);
    at += n;
  });
  return out.subarray(0, rows) as A;
}

/** One text column of several bodies: codes into one dictionary, in order of first appearance. */
function mergeTextColumn(
  bodies: readonly CsvBody[],
  c: number,
  rows: number,
): { codes: Int32Array; dictionary: string[] } {
  const first = bodies[0]!;
  if (bodies.length === 1)
    return { codes: first.codes[c]!.slice(0, rows), dictionary: [...first.dictionaries[c]!] };
  const dictionary = [...first.dictionaries[c]!];
  const byText = new Map<string, number>(dictionary.map((t, i) => [t, i]));
  const codes = new Int32Array(rows);
  let at = 0;
  for (const b of bodies) {
    const own = b.codes[c]!;
    const remap = b.dictionaries[c]!.map((t) => {
      let k = byText.get(t);
      if (k === undefined) {
        k = dictionary.length;
        dictionary.push(t);
        byText.set(t, k);
      }
      return k;
    });
    for (let r = 0; r < b.rows; r++) {
      const k = own[r]!;
      codes[at + r] = k < 0 ? -1 : remap[k]!;
    }
    at += b.rows;
  }
  return { codes, dictionary };
}

function nameColumns(first: readonly string[], opts: CsvOptions, file: string): string[] {
  let names: string[];
  if (opts.names) {
    if (opts.names.length !== first.length) {
      throw new StageError(
        "QV_LOAD_NAMES",
        `${file}: names lists ${opts.names.length} column(s) but the ${opts.header ? "header" : "first line"} has ${first.length} field(s)`,
        { param: ["names"], data: { file } },
      );
    }
    names = [...opts.names];
  } else if (opts.header) names = first.map((n, i) => (n === "" ? `column_${i + 1}` : n));
  else names = first.map((_, i) => `column_${i + 1}`);
  const seen = new Map<string, number>();
  const dups: string[] = [];
  names.forEach((n, i) => {
    if (seen.has(n)) dups.push(`"${n}" (fields ${seen.get(n)! + 1} and ${i + 1})`);
    else seen.set(n, i);
  });
  if (dups.length) {
    throw new StageError(
      "QV_LOAD_DUPLICATE_COLUMN",
      `${file}: the header names a column twice: ${dups.join(", ")}`,
      {
        hint: "rename the columns in the file, or give all names with names:",
        data: { file },
      },
    );
  }
  return names;
}

interface Sample {
  /** 1 for columns with no value in the sampled rows (read as text, maybe numeric at the end). */
  readonly undecided: Uint8Array;
  readonly bytesPerRow: number;
  /** Line number where data starts. */
  readonly dataLine: number;
}

/** Decides numeric vs text from the first rows; flips `kinds` entries from K_NUM to K_STR. */
function inferTypes(
  lex: CsvLexer,
  kinds: Uint8Array,
  header: readonly string[],
  forced: Readonly<Record<string, ColumnTypeName>>,
  inferRows: number,
): Sample {
  const ncol = kinds.length;
  const start = lex.pos;
  const dataLine = lex.line;
  const sawValue = new Uint8Array(ncol);
  const sawText = new Uint8Array(ncol);
  const scan: NumberScan = { value: 0, isIntLiteral: false };
  let rows = 0;
  while (rows < inferRows && lex.skipBlankLines()) {
    let c = 0;
    for (;;) {
      lex.next();
      if (c < ncol && kinds[c] === K_NUM && !sawText[c]) {
        const r = parseNumber(lex.buf, lex.start, lex.end, scan);
        if (r === NUM_OK) sawValue[c] = 1;
        else if (r === NUM_BAD) sawText[c] = 1;
      }
      c++;
      if (lex.terminator !== END_FIELD) break;
    }
    rows++;
    if (lex.terminator === END_FILE) break;
  }
  const undecided = new Uint8Array(ncol);
  for (let c = 0; c < ncol; c++) {
    if (kinds[c] !== K_NUM || own(forced, header[c]!) !== undefined) continue;
    if (sawText[c]) kinds[c] = K_STR;
    else if (!sawValue[c]) {
      kinds[c] = K_STR;
      undecided[c] = 1;
    }
  }
  return { undecided, bytesPerRow: rows ? (lex.pos - start) / rows : 64, dataLine };
}
