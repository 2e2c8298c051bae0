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
import { StageError } from "../../../engine/stage.js";
import type { Column, Table } from "../../../engine/table.js";
import { CR, CsvLexer, END_FIELD, END_FILE, LF } from "./csv-lexer.js";
import { NUM_BAD, NUM_MISSING, NUM_OK, parseNumber, scanNumber, type NumberScan } from "./csv-number.js";

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

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

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
    else if (forced[name] === "string") kinds[c] = K_STR;
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
              forced[header[c]!] !== undefined,
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
    missingOut[name] = missing[c]!;
    if (kinds[c] === K_NUM) {
      const values = f64[c]!.slice(0, row);
      const asInt = intLiteral[c] === 1 && missing[c] === 0 && row > 0 && forced[name] !== "float64";
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

/** Skips a UTF-8 byte-order mark; rejects UTF-16 and binary files with a hint at what they are. */
function checkEncoding(buf: Buffer, file: string): number {
  if (buf.length >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff))) {
    throw new StageError(
      "QV_LOAD_ENCODING",
      `${file}: the file is UTF-16 text, which the CSV reader does not read`,
      {
        hint: "save it as UTF-8 (most editors and pandas' to_csv do that by default)",
        data: { file },
      },
    );
  }
  const offset = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  const probe = Math.min(buf.length, offset + 4096);
  for (let i = offset; i < probe; i++) {
    if (buf[i] === 0) {
      const kind = sniffBinary(buf);
      throw new StageError("QV_LOAD_BINARY", `${file}: this is not a text file (it contains NUL bytes)`, {
        hint: kind
          ? `it looks like ${kind}`
          : "the CSV reader reads UTF-8 text; is the file a different format?",
        data: { file },
      });
    }
  }
  return offset;
}

export function sniffBinary(buf: Uint8Array): string | undefined {
  const ascii = (s: string, at = 0) => s.split("").every((ch, i) => buf[at + i] === ch.charCodeAt(0));
  if (ascii("PAR1")) return "a Parquet file: set format: parquet";
  if (ascii("ARROW1")) return "an Arrow IPC/Feather file: set format: arrow";
  if (buf[0] === 0x89 && ascii("HDF", 1)) return "an HDF5 file: set format: hdf5";
  if (buf[0] === 0x1f && buf[1] === 0x8b)
    return "a gzip file: name it with a .gz extension to have it decompressed";
  return undefined;
}

function chooseDelimiter(buf: Buffer, offset: number, opts: CsvOptions): string {
  if (opts.delimiter !== undefined) {
    if (opts.delimiter.length !== 1 || opts.delimiter.charCodeAt(0) > 0x7f || opts.delimiter === '"') {
      throw new StageError(
        "QV_LOAD_DELIMITER",
        `delimiter must be one ASCII character other than '"', got ${JSON.stringify(opts.delimiter)}`,
        {
          param: ["delimiter"],
        },
      );
    }
    return opts.delimiter;
  }
  if (opts.tabByDefault) return "\t";
  // Count candidates on the first line, outside quotes.
  const counts = new Map<number, number>([
    [0x2c, 0],
    [0x09, 0],
    [0x3b, 0],
    [0x7c, 0],
  ]);
  let inQuotes = false;
  const end = Math.min(buf.length, offset + 65536);
  for (let i = offset; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x22) inQuotes = !inQuotes;
    else if (!inQuotes && (c === 0x0a || c === 0x0d)) break;
    else if (!inQuotes && counts.has(c)) counts.set(c, counts.get(c)! + 1);
  }
  let best = 0x2c;
  let bestCount = 0;
  for (const [c, n] of counts) {
    if (n > bestCount) {
      best = c;
      bestCount = n;
    }
  }
  return String.fromCharCode(best);
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
    if (kinds[c] !== K_NUM || forced[header[c]!] !== undefined) continue;
    if (sawText[c]) kinds[c] = K_STR;
    else if (!sawValue[c]) {
      kinds[c] = K_STR;
      undecided[c] = 1;
    }
  }
  return { undecided, bytesPerRow: rows ? (lex.pos - start) / rows : 64, dataLine };
}

/** Decodes field text as UTF-8, counting fields with invalid bytes. */
class Utf8Decoder {
  invalid = 0;
  decode(lex: CsvLexer): string {
    let text: string;
    const bytes = lex.buf.subarray(lex.start, lex.end);
    try {
      text = fatalDecoder.decode(bytes);
    } catch {
      this.invalid++;
      text = lenientDecoder.decode(bytes);
    }
    return lex.escaped ? text.replaceAll('""', '"') : text;
  }
}

/** A text column's dictionary: raw bytes (as a latin1 key) → code, decoded only once per value. */
class Dictionary {
  readonly values: string[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly byText = new Map<string, number>();

  intern(lex: CsvLexer, decoder: Utf8Decoder): number {
    let key = lex.buf.toString("latin1", lex.start, lex.end);
    if (lex.escaped) key = key.replaceAll('""', '"');
    const hit = this.byKey.get(key);
    if (hit !== undefined) return hit;
    // ASCII keys are their own text; others decode (invalid bytes may make two keys one text).
    const text = isAscii(key) ? key : decoder.decode(lex);
    let code = this.byText.get(text);
    if (code === undefined) {
      code = this.values.length;
      this.values.push(text);
      this.byText.set(text, code);
    }
    this.byKey.set(key, code);
    return code;
  }

  /** The column as numbers when every value is one (for columns empty in the sampled rows). */
  asNumbers(codes: Int32Array): Column | undefined {
    const scan: NumberScan = { value: 0, isIntLiteral: false };
    const numbers = new Float64Array(this.values.length);
    for (let i = 0; i < this.values.length; i++) {
      const b = Buffer.from(this.values[i]!, "utf8");
      const r = parseNumber(b, 0, b.length, scan);
      if (r === NUM_BAD) return undefined;
      numbers[i] = scan.value;
    }
    const out = new Float64Array(codes.length);
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i]!;
      out[i] = code < 0 ? NaN : numbers[code]!;
    }
    return { type: "float64", values: out };
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function toInt32(values: Float64Array): Column | undefined {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== (v | 0) || Object.is(v, -0)) return undefined;
    out[i] = v;
  }
  return { type: "int32", values: out };
}

function textInNumeric(
  lex: CsvLexer,
  file: string,
  row: number,
  line: number,
  column: string,
  forced: boolean,
  inferRows: number,
): StageError {
  const raw = lex.buf.subarray(lex.start, Math.min(lex.end, lex.start + 60));
  let text = lenientDecoder.decode(raw);
  if (lex.end - lex.start > 60) text += "…";
  const quotedText = [...text].some((ch) => ch.charCodeAt(0) < 0x20) ? JSON.stringify(text) : `"${text}"`;
  return new StageError(
    "QV_LOAD_NOT_A_NUMBER",
    `${file}: row ${row} (line ${line}), column "${column}": ${quotedText} is not a number`,
    {
      hint: forced
        ? `types: sets "${column}" to a numeric type; fix the value or set types: {${column}: string}`
        : `the first rows of "${column}" (up to ${inferRows}) are numbers, so it is read as numeric; ` +
          `fix the value, or set types: {${column}: string} to read the column as text`,
      data: { file, row, column },
    },
  );
}

function ragged(
  file: string,
  row: number,
  line: number,
  expected: number,
  found: number,
  lastLine: boolean,
): StageError {
  return new StageError(
    "QV_LOAD_RAGGED",
    `${file}: row ${row} (line ${line}) has ${found} field(s), expected ${expected} like the first line`,
    {
      hint: lastLine
        ? "this is the last line: is the file truncated?"
        : found > expected
          ? "a text field containing the delimiter must be quoted"
          : "every row needs the same number of fields (an empty field is a missing value)",
      data: { file, row },
    },
  );
}
