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

const ZEROS = ["", "0", "00", "000", "0000", "00000", "000000"];

/**
 * Shortest text of x rounded to `decimals` places ("-0" becomes "0"): `String(round(x·10^d)/10^d)`.
 * Written from the integer n = round(x·10^d) when it is exact (|n| < 2^53, d ≤ 6): the double
 * nearest n/10^d prints as that decimal with its trailing zeros dropped (a shorter decimal is
 * another d-place number, another double, while doubles are denser than 10^-d), and integer
 * digits print without the general double-to-shortest conversion, which cost a third of
 * generating the Higgs sample.
 */
export function fixed(x: number, decimals: number): string {
  const f = 10 ** decimals;
  const n = Math.round(x * f);
  if (n === 0) return "0";
  const r = n / f;
  if (decimals > 6 || !(Math.abs(n) < 2 ** 53) || !(Math.abs(r) < 1e15)) return String(r);
  const neg = n < 0;
  const a = neg ? -n : n;
  const int = Math.floor(a / f);
  let frac = a - int * f;
  if (frac === 0) return `${neg ? "-" : ""}${int}`;
  let d = decimals;
  while (frac % 10 === 0) {
    frac /= 10;
    d--;
  }
  const digits = String(frac);
  return `${neg ? "-" : ""}${int}.${ZEROS[d - digits.length] ?? ""}${digits}`;
}
