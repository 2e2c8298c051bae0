/**
 * Helpers of the CSV reader: input checks (encoding, binary files, delimiter guess), text decoding
 * and dictionaries for text columns, and the located errors it raises.
 */
import { StageError } from "../../../core/stage.js";
import type { Column } from "../../../core/table.js";
import type { CsvLexer } from "./csv-lexer.js";
import { NUM_BAD, parseNumber, type NumberScan } from "./csv-number.js";

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Skips a UTF-8 byte-order mark; rejects UTF-16 and binary files with a hint at what they are. */
export function checkEncoding(buf: Buffer, file: string): number {
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

export function chooseDelimiter(
  buf: Buffer,
  offset: number,
  opts: { readonly delimiter?: string; readonly tabByDefault?: boolean },
): string {
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

/** Decodes field text as UTF-8, counting fields with invalid bytes. */
export class Utf8Decoder {
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
export class Dictionary {
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
}

/** A text column as numbers when every value is one (for columns empty in the sampled rows). */
export function dictionaryAsNumbers(values: readonly string[], codes: Int32Array): Column | undefined {
  const scan: NumberScan = { value: 0, isIntLiteral: false };
  const numbers = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = Buffer.from(values[i]!, "utf8");
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

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

export function toInt32(values: Float64Array): Column | undefined {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== (v | 0) || Object.is(v, -0)) return undefined;
    out[i] = v;
  }
  return { type: "int32", values: out };
}

export function textInNumeric(
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

export function ragged(
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
