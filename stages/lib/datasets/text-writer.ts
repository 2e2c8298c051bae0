/** A buffered text writer for generated data files: chunks of ~1 MiB, temp file then rename. */
import fs from "node:fs";
import path from "node:path";

const CHUNK = 1 << 20;

export class TextFileWriter {
  private readonly fd: number;
  private readonly tmp: string;
  private buf = "";
  private closed = false;
  bytes = 0;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.tmp = `${file}.tmp-${process.pid}`;
    this.fd = fs.openSync(this.tmp, "w");
  }

  write(s: string): void {
    this.buf += s;
    if (this.buf.length >= CHUNK) this.flush();
  }

  private flush(): void {
    if (this.buf.length === 0) return;
    const b = Buffer.from(this.buf, "utf8");
    let off = 0;
    while (off < b.length) off += fs.writeSync(this.fd, b, off, b.length - off);
    this.bytes += b.length;
    this.buf = "";
  }

  /** Flushes, closes and moves the file into place, so a reader never sees half a file. */
  close(): void {
    if (this.closed) return;
    this.flush();
    fs.closeSync(this.fd);
    fs.renameSync(this.tmp, this.file);
    this.closed = true;
  }

  /** Closes and deletes the temp file (after an error). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
    fs.rmSync(this.tmp, { force: true });
  }
}

/** Shortest text of x rounded to `decimals` places ("-0" becomes "0"). */
export function fixed(x: number, decimals: number): string {
  const f = 10 ** decimals;
  const r = Math.round(x * f) / f;
  return r === 0 ? "0" : String(r);
}
