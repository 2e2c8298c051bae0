/**
 * Byte-level CSV field scanner: RFC 4180 quoting ("" escapes, delimiters and newlines inside
 * quotes), LF / CRLF / CR line ends, a last line with or without its newline. It keeps the line
 * number so every error can say where it happened; it never builds a string or an object per row.
 */
import { StageError } from "../../../core/stage.js";

const QUOTE = 0x22;
export const LF = 0x0a;
export const CR = 0x0d;

/** What ended the field just scanned. */
export const END_FIELD = 0;
const END_RECORD = 1;
export const END_FILE = 2;

export class CsvLexer {
  pos = 0;
  /** 1-based line number of `pos`. */
  line = 1;
  /** Bounds of the field's content (inside the quotes for a quoted field). */
  start = 0;
  end = 0;
  quoted = false;
  /** The quoted field contains "" escapes, so its text must be unescaped. */
  escaped = false;
  terminator = END_FILE;

  constructor(
    readonly buf: Buffer,
    readonly delimiter: number,
    readonly file: string,
  ) {}

  atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  /** Skips empty lines (and lines of only spaces/tabs). Returns false at end of file. */
  skipBlankLines(): boolean {
    const buf = this.buf;
    const n = buf.length;
    for (;;) {
      let p = this.pos;
      while (p < n && (buf[p] === 0x20 || buf[p] === 0x09) && buf[p] !== this.delimiter) p++;
      if (p >= n) {
        this.pos = n;
        return false;
      }
      const c = buf[p];
      if (c === LF) {
        this.pos = p + 1;
        this.line++;
      } else if (c === CR) {
        this.pos = p + 1 < n && buf[p + 1] === LF ? p + 2 : p + 1;
        this.line++;
      } else return true;
    }
  }

  /** Ends the record at `p` (a line end or the end of the file), as `next` would have. */
  endRecordAt(p: number): void {
    const buf = this.buf;
    const n = buf.length;
    if (p >= n) {
      this.pos = n;
      this.terminator = END_FILE;
      return;
    }
    this.pos = buf[p] === CR && p + 1 < n && buf[p + 1] === LF ? p + 2 : p + 1;
    this.line++;
    this.terminator = END_RECORD;
  }

  /** Scans the next field from `pos`, leaving `pos` after its terminator. */
  next(): void {
    const buf = this.buf;
    const n = buf.length;
    const delim = this.delimiter;
    let p = this.pos;
    // Spaces before an opening quote are allowed (`a, "b"`); otherwise they belong to the field.
    let q = p;
    while (q < n && buf[q] === 0x20 && delim !== 0x20) q++;
    if (q < n && buf[q] === QUOTE) {
      this.scanQuoted(q);
      return;
    }
    this.quoted = false;
    this.escaped = false;
    this.start = p;
    for (;;) {
      if (p >= n) {
        this.end = p;
        this.pos = p;
        this.terminator = END_FILE;
        return;
      }
      const c = buf[p]!;
      if (c === delim) {
        this.end = p;
        this.pos = p + 1;
        this.terminator = END_FIELD;
        return;
      }
      if (c === LF || c === CR) {
        this.end = p;
        this.pos = c === CR && p + 1 < n && buf[p + 1] === LF ? p + 2 : p + 1;
        this.line++;
        this.terminator = END_RECORD;
        return;
      }
      p++;
    }
  }

  private scanQuoted(open: number): void {
    const buf = this.buf;
    const n = buf.length;
    const startLine = this.line;
    this.quoted = true;
    this.escaped = false;
    this.start = open + 1;
    let p = open + 1;
    for (;;) {
      if (p >= n) {
        throw new StageError(
          "QV_LOAD_CSV_QUOTE",
          `${this.file}: line ${startLine}: a quoted field is never closed (the file ends inside it)`,
          {
            hint: 'close the quote, or write a literal quote inside a quoted field as ""',
            data: { file: this.file },
          },
        );
      }
      const c = buf[p]!;
      if (c === QUOTE) {
        if (p + 1 < n && buf[p + 1] === QUOTE) {
          this.escaped = true;
          p += 2;
          continue;
        }
        break;
      }
      if (c === LF || (c === CR && !(p + 1 < n && buf[p + 1] === LF))) this.line++;
      p++;
    }
    this.end = p;
    p++; // closing quote
    while (p < n && buf[p] === 0x20 && this.delimiter !== 0x20) p++;
    if (p >= n) {
      this.pos = p;
      this.terminator = END_FILE;
      return;
    }
    const c = buf[p]!;
    if (c === this.delimiter) {
      this.pos = p + 1;
      this.terminator = END_FIELD;
    } else if (c === LF || c === CR) {
      this.pos = c === CR && p + 1 < n && buf[p + 1] === LF ? p + 2 : p + 1;
      this.line++;
      this.terminator = END_RECORD;
    } else {
      throw new StageError(
        "QV_LOAD_CSV_QUOTE",
        `${this.file}: line ${this.line}: unexpected ${describeByte(c)} after the closing quote of a field`,
        {
          hint: 'a quoted field must be followed by the delimiter or the end of the line; write a literal quote as ""',
          data: { file: this.file },
        },
      );
    }
  }
}

function describeByte(c: number): string {
  if (c >= 0x21 && c < 0x7f) return `character "${String.fromCharCode(c)}"`;
  return `byte 0x${c.toString(16).padStart(2, "0")}`;
}
