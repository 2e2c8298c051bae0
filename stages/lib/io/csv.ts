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
import { CR, CsvLexer, END_FIELD, END_FILE, LF } from "./csv-lexer.js";
import { NUM_BAD, NUM_MISSING, NUM_OK, parseNumber, scanNumber, type NumberScan } from "./csv-number.js";
import {
  checkEncoding,
  chooseDelimiter,
  Dictionary,
  ragged,
  textInNumeric,
  toInt32,
  Utf8Decoder,
} from "./csv-support.js";

export type ColumnTypeName = "float64" | "int32" | "string";

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

const K_SKIP = 0;
const K_NUM = 1;
const K_STR = 2;

export function parseCsv(buf: Buffer, opts: CsvOptions): CsvResult {
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
  lex.pos = offset;
  lex.line = sampled.dataLine;

  // Builders, sized from the bytes per record seen while sampling and grown when needed.
  let cap = Math.max(16, Math.ceil(((buf.length - offset) / Math.max(1, sampled.bytesPerRow)) * 1.05) + 16);
  const f64: (Float64Array | undefined)[] = new Array<Float64Array | undefined>(ncol);
  const codes: (Int32Array | undefined)[] = new Array<Int32Array | undefined>(ncol);
  const dicts: (Dictionary | undefined)[] = new Array<Dictionary | undefined>(ncol);
  const intLiteral = new Uint8Array(ncol).fill(1);
  const missing = new Float64Array(ncol);
  for (let c = 0; c < ncol; c++) {
    if (kinds[c] === K_NUM) f64[c] = new Float64Array(cap);
    else if (kinds[c] === K_STR) {
      codes[c] = new Int32Array(cap);
      dicts[c] = new Dictionary();
    }
  }
  const grow = () => {
    cap = Math.ceil(cap * 1.5) + 16;
    for (let c = 0; c < ncol; c++) {
      const f = f64[c];
      if (f) {
        const g = new Float64Array(cap);
        g.set(f);
        f64[c] = g;
      }
      const k = codes[c];
      if (k) {
        const g = new Int32Array(cap);
        g.set(k);
        codes[c] = g;
      }
    }
  };

  const scan: NumberScan = { value: 0, isIntLiteral: false };
  const n = buf.length;
  const delim = lex.delimiter;
  let row = 0;
  while (lex.skipBlankLines()) {
    const recordLine = lex.line;
    if (row === cap) grow();
    let c = 0;
    for (;;) {
      if (c < ncol) {
        const kind = kinds[c];
        if (kind === K_NUM) {
          // Fast path: a plain number directly followed by the field's terminator needs no
          // separate scan for the field's end.
          const stop = scanNumber(buf, lex.pos, n, scan);
          if (stop >= 0) {
            const t = stop < n ? buf[stop]! : -1;
            if (t === delim) {
              f64[c]![row] = scan.value;
              if (!scan.isIntLiteral) intLiteral[c] = 0;
              lex.pos = stop + 1;
              c++;
              continue;
            }
            if (t === LF || t === CR || t === -1) {
              f64[c]![row] = scan.value;
              if (!scan.isIntLiteral) intLiteral[c] = 0;
              lex.endRecordAt(stop);
              c++;
              break;
            }
          }
          lex.next();
          const r = parseNumber(buf, lex.start, lex.end, scan);
          if (r === NUM_OK) {
            f64[c]![row] = scan.value;
            if (!scan.isIntLiteral) intLiteral[c] = 0;
          } else if (r === NUM_MISSING) {
            f64[c]![row] = NaN;
            missing[c]!++;
          } else {
            throw textInNumeric(
              lex,
              file,
              row + 1,
              recordLine,
              header[c]!,
              own(forced, header[c]!) !== undefined,
              inferRows,
            );
          }
        } else if (kind === K_STR) {
          lex.next();
          const code = lex.end === lex.start ? -1 : dicts[c]!.intern(lex, decoder);
          codes[c]![row] = code;
          if (code < 0) missing[c]!++;
        } else lex.next();
      } else lex.next();
      c++;
      if (lex.terminator !== END_FIELD) break;
    }
    if (c !== ncol) throw ragged(file, row + 1, recordLine, ncol, c, lex.terminator === END_FILE);
    row++;
    if (lex.terminator === END_FILE) break;
  }

  const columns = new Map<string, Column>();
  const missingOut: Record<string, number> = {};
  for (let c = 0; c < ncol; c++) {
    const name = header[c]!;
    if (kinds[c] === K_SKIP) continue;
    setOwn(missingOut, name, missing[c]!);
    if (kinds[c] === K_NUM) {
      const values = f64[c]!.slice(0, row);
      const asInt = intLiteral[c] === 1 && missing[c] === 0 && row > 0 && own(forced, name) !== "float64";
      columns.set(
        name,
        asInt ? (toInt32(values) ?? { type: "float64", values }) : { type: "float64", values },
      );
    } else {
      const dict = dicts[c]!;
      const codeArr = codes[c]!.slice(0, row);
      const numeric = sampled.undecided[c] === 1 ? dict.asNumbers(codeArr) : undefined;
      columns.set(name, numeric ?? { type: "dict", codes: codeArr, dictionary: dict.values });
    }
  }
  return {
    table: { numRows: row, columns },
    header,
    missing: missingOut,
    invalidUtf8: decoder.invalid,
    delimiter,
  };
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
