/**
 * The records of a CSV file (or of a stretch of it that starts at a record boundary) into typed
 * arrays, with the column kinds decided beforehand (csv.ts `prepareCsv`). Both threads of a
 * two-thread read run this on their half; csv.ts `finishCsv` joins the halves.
 */
import { own } from "../../../core/dict.js";
import { CR, CsvLexer, END_FIELD, END_FILE, LF } from "./csv-lexer.js";
import {
  NUM_MISSING,
  NUM_OK,
  parseNumber,
  releaseNumberView,
  scanNumber,
  type NumberScan,
} from "./csv-number.js";
import { Dictionary, ragged, textInNumeric, Utf8Decoder } from "./csv-support.js";
import { csvNumbersFor } from "./csv-wasm.js";

export type ColumnTypeName = "float64" | "int32" | "string";

export const K_SKIP = 0;
export const K_NUM = 1;
export const K_STR = 2;

/**
 * What the header and the sampled first rows decided, before the body is read: everything a
 * thread needs to parse any stretch of records (it is structured-clonable, for the worker).
 */
export interface CsvLayout {
  readonly file: string;
  readonly header: readonly string[];
  readonly delimiter: string;
  /** K_SKIP, K_NUM or K_STR per column. */
  readonly kinds: Uint8Array;
  /** 1 for columns with no value in the sampled rows (read as text, maybe numeric at the end). */
  readonly undecided: Uint8Array;
  readonly forced: Readonly<Record<string, ColumnTypeName>>;
  readonly inferRows: number;
  /** Where the records start, and on which line. */
  readonly dataStart: number;
  readonly dataLine: number;
  readonly bytesPerRow: number;
  /** Header fields with invalid UTF-8. */
  readonly headerInvalidUtf8: number;
}

/** The parsed records of one stretch: arrays hold at least `rows` entries. */
export interface CsvBody {
  readonly rows: number;
  readonly f64: readonly (Float64Array | undefined)[];
  readonly codes: readonly (Int32Array | undefined)[];
  /** Each text column's distinct values, indexed by code. */
  readonly dictionaries: readonly (readonly string[] | undefined)[];
  /** 1 where every value of the column was an integer literal. */
  readonly intLiteral: Uint8Array;
  readonly missing: Float64Array;
  readonly invalidUtf8: number;
}

/**
 * Parses the records in `buf[start…]` (the whole rest of the buffer: pass a shorter view to stop
 * earlier), where `start` is on line `line` and is record number `rowBase` of the file (errors
 * count rows and lines from there). The arrays are sized from the bytes per row seen while
 * sampling and grown when needed.
 */
export function parseCsvBody(
  buf: Buffer,
  start: number,
  line: number,
  rowBase: number,
  layout: CsvLayout,
  /** Bytes to size the arrays for (default: the rest of `buf`); more leaves room to append. */
  sizeFor = buf.length - start,
): CsvBody {
  try {
    return parseBody(buf, start, line, rowBase, layout, sizeFor);
  } finally {
    releaseNumberView();
  }
}

function parseBody(
  buf: Buffer,
  start: number,
  line: number,
  rowBase: number,
  layout: CsvLayout,
  sizeFor: number,
): CsvBody {
  const { file, header, kinds, forced, inferRows } = layout;
  const ncol = header.length;
  const lex = new CsvLexer(buf, layout.delimiter.charCodeAt(0), file);
  lex.pos = start;
  lex.line = line;
  const decoder = new Utf8Decoder();
  // Builders, sized from the bytes per record seen while sampling and grown when needed.
  let cap = Math.max(16, Math.ceil((sizeFor / Math.max(1, layout.bytesPerRow)) * 1.05) + 16);
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
  // When the bytes live in the WebAssembly scanner's memory, runs of numeric columns go to it in
  // one call; run[c] is how many numeric columns follow from c (c included).
  const wasm = csvNumbersFor(buf);
  const run = new Int32Array(ncol + 1);
  for (let c = ncol - 1; c >= 0; c--)
    run[c] = kinds[c] === K_NUM ? Math.min(run[c + 1]! + 1, wasm?.capacity ?? 0) : 0;
  let row = 0;
  while (lex.skipBlankLines()) {
    const recordLine = lex.line;
    if (row === cap) grow();
    let c = 0;
    for (;;) {
      if (c < ncol) {
        const kind = kinds[c];
        if (kind === K_NUM) {
          if (wasm !== undefined) {
            const want = run[c]!;
            const got = wasm.scan(lex.pos, n, delim, want);
            const values = wasm.values;
            const literal = wasm.intLiteral;
            for (let k = 0; k < got; k++) {
              f64[c + k]![row] = values[k]!;
              if (literal[k] === 0) intLiteral[c + k] = 0;
            }
            c += got;
            if (got > 0 && wasm.ended) {
              lex.endRecordAt(wasm.stop);
              break;
            }
            lex.pos = wasm.stop;
            if (got === want) continue;
            // Column c holds something the scanner leaves to the code below (a quoted or
            // missing value, text, or a number only Number() decides).
          }
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
              rowBase + row + 1,
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
    if (c !== ncol) throw ragged(file, rowBase + row + 1, recordLine, ncol, c, lex.terminator === END_FILE);
    row++;
    if (lex.terminator === END_FILE) break;
  }

  return {
    rows: row,
    f64,
    codes,
    dictionaries: dicts.map((d) => d?.values),
    intLiteral,
    missing,
    invalidUtf8: decoder.invalid,
  };
}
