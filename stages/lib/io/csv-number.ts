/**
 * Number parsing straight from the bytes of a CSV field, without making a string per value.
 *
 * Correctness first: every value equals what `Number(text)` gives for the same text, bit for bit
 * (test/csv-number.test.ts checks it on random doubles' shortest and 17-digit forms and on edge
 * cases). Short mantissas take Clinger's exact fast path; up to 19 significant digits a
 * double-double product with a run-time proof of correct rounding (decimal-to-double.ts); the
 * rare rest is validated here and handed to `Number()` on a latin1 slice.
 */
import { decimalToDouble } from "./decimal-to-double.js";

/** Exactly representable powers of ten (also the WebAssembly scanner's, csv-wasm.ts). */
export const POW10: readonly number[] = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

export const NUM_OK = 0;
export const NUM_MISSING = 1;
export const NUM_BAD = 2;
export type NumberKind = typeof NUM_OK | typeof NUM_MISSING | typeof NUM_BAD;

/** Out-parameters of `parseNumber`, reused across calls so the hot loop allocates nothing. */
export interface NumberScan {
  value: number;
  /** The text is an integer literal (no '.', no exponent): a column of these may become int32. */
  isIntLiteral: boolean;
}

/**
 * Texts read as a missing value in numeric columns besides the empty field (the pandas defaults
 * users meet most often). Matched case-sensitively, as pandas does.
 */
export const MISSING_TOKENS: ReadonlySet<string> = new Set([
  "NaN",
  "nan",
  "-NaN",
  "-nan",
  "NA",
  "N/A",
  "n/a",
  "#N/A",
  "null",
  "NULL",
  "None",
  "<NA>",
]);

const INFINITY_TOKENS: ReadonlyMap<string, number> = new Map([
  ["inf", Infinity],
  ["Inf", Infinity],
  ["INF", Infinity],
  ["Infinity", Infinity],
  ["+inf", Infinity],
  ["+Inf", Infinity],
  ["+Infinity", Infinity],
  ["-inf", -Infinity],
  ["-Inf", -Infinity],
  ["-INF", -Infinity],
  ["-Infinity", -Infinity],
]);

const SPACE = 0x20;
const TAB = 0x09;

/**
 * Parses `buf[start, end)` as a decimal number (optional sign, digits with an optional point,
 * optional exponent; surrounding spaces/tabs ignored). Returns NUM_OK with `out.value` set,
 * NUM_MISSING (empty or a missing-value token; value NaN), or NUM_BAD (not a number).
 */
export function parseNumber(buf: Buffer, start: number, end: number, out: NumberScan): NumberKind {
  while (start < end && (buf[start] === SPACE || buf[start] === TAB)) start++;
  while (end > start && (buf[end - 1] === SPACE || buf[end - 1] === TAB)) end--;
  if (start === end) {
    out.value = NaN;
    out.isIntLiteral = false;
    return NUM_MISSING;
  }
  if (scanNumber(buf, start, end, out) === end) return NUM_OK;
  return special(buf, start, end, out);
}

/**
 * Reads the longest decimal number starting at `start` (no spaces), stopping at `limit` or at the
 * first byte that cannot continue it. Returns where it stopped, with `out` set; or -1 when no
 * number starts there (no digits, or an exponent without digits).
 *
 * The first 15 significant digits go to `hi`, the next 4 to `lo` (both exact); the value is then
 * exact by Clinger's fast path (≤ 15 digits, or 16 below 2^53, and |exponent| ≤ 22: one correctly
 * rounded multiply or divide), or correctly rounded by `decimalToDouble` (up to 19 digits), and
 * only otherwise (more digits, extreme exponents, a near-tie) by `Number()` on the text.
 */
export function scanNumber(buf: Buffer, start: number, limit: number, out: NumberScan): number {
  let i = start;
  let c = buf[i]!;
  let negative = false;
  if (c === 0x2d /* - */ || c === 0x2b /* + */) {
    negative = c === 0x2d;
    i++;
  }
  let hi = 0;
  let lo = 0;
  let significant = 0; // significant digits (leading zeros excluded)
  let exp10 = 0; // value = (hi, lo digits) · 10^exp10, counting only the digits kept
  let digits = 0;
  let intLiteral = true;
  for (; i < limit; i++) {
    c = buf[i]! - 0x30;
    if (c < 0 || c > 9) break;
    digits++;
    if (significant === 0 && c === 0) continue;
    if (significant < 15) hi = hi * 10 + c;
    else if (significant < 19) lo = lo * 10 + c;
    else exp10++; // a dropped digit: only Number() will see it
    significant++;
  }
  if (i < limit && buf[i] === 0x2e /* . */) {
    intLiteral = false;
    i++;
    if (significant === 0)
      // Leading zeros of the fraction (0.000123): they only move the exponent.
      while (i < limit && buf[i] === 0x30) {
        i++;
        digits++;
        exp10--;
      }
    // Then digits by groups while they all go to hi (SWAR on 32-bit little-endian loads): eight
    // at a time, then four. The first digit here is not a leading zero (skipped above), so every
    // digit of a group is significant.
    while (significant <= 7 && i + 8 <= limit) {
      const a = fourDigits(buf, i);
      if (a < 0) break;
      const b = fourDigits(buf, i + 4);
      if (b < 0) break;
      hi = hi * 100000000 + a * 10000 + b;
      significant += 8;
      digits += 8;
      exp10 -= 8;
      i += 8;
    }
    while (significant <= 11 && i + 4 <= limit) {
      const four = fourDigits(buf, i);
      if (four < 0) break;
      hi = hi * 10000 + four;
      significant += 4;
      digits += 4;
      exp10 -= 4;
      i += 4;
    }
    for (; i < limit; i++) {
      c = buf[i]! - 0x30;
      if (c < 0 || c > 9) break;
      digits++;
      if (significant === 0 && c === 0) {
        exp10--;
        continue;
      }
      if (significant < 15) hi = hi * 10 + c;
      else if (significant < 19) lo = lo * 10 + c;
      else {
        significant++;
        continue;
      }
      exp10--;
      significant++;
    }
  }
  if (digits === 0) return -1;
  if (i < limit && (buf[i] === 0x65 /* e */ || buf[i] === 0x45) /* E */) {
    intLiteral = false;
    i++;
    let expNegative = false;
    if (i < limit && (buf[i] === 0x2d || buf[i] === 0x2b)) {
      expNegative = buf[i] === 0x2d;
      i++;
    }
    let expDigits = 0;
    let e = 0;
    for (; i < limit; i++) {
      c = buf[i]! - 0x30;
      if (c < 0 || c > 9) break;
      expDigits++;
      if (e < 100000) e = e * 10 + c; // saturate: the value is 0 or Infinity long before this
    }
    if (expDigits === 0) return -1;
    exp10 += expNegative ? -e : e;
  }
  out.isIntLiteral = intLiteral;
  if (significant === 0) {
    out.value = negative ? -0 : 0;
    return i;
  }
  if (significant <= 16) {
    // With 16 digits, hi holds 15 and lo the last; exact when below 2^53 (a larger exact value
    // could not round to one below 2^53).
    const m = significant <= 15 ? hi : hi * 10 + lo;
    if (m < 9007199254740992 && exp10 >= -22 && exp10 <= 22) {
      const v = exp10 === 0 ? m : exp10 > 0 ? m * POW10[exp10]! : m / POW10[-exp10]!;
      out.value = negative ? -v : v;
      return i;
    }
  }
  if (significant <= 19) {
    const k = significant <= 15 ? 0 : significant - 15;
    const v = decimalToDouble(hi, lo, k, exp10);
    if (v !== undefined) {
      out.value = negative ? -v : v;
      return i;
    }
  }
  // The grammar was checked above, so Number() cannot accept anything we would reject (hex, "").
  out.value = Number(buf.toString("latin1", start, i));
  return i;
}

// A DataView of the buffer being parsed, made once per buffer; `releaseNumberView` drops it so
// that a parsed file's bytes are not kept alive.
let viewOf: Buffer | undefined;
let view: DataView = new DataView(new ArrayBuffer(8));

export function releaseNumberView(): void {
  viewOf = undefined;
  view = new DataView(new ArrayBuffer(8));
}

/** The value of the four ASCII digits at `buf[i…i+4)`, or -1 if any byte is not a digit. */
function fourDigits(buf: Buffer, i: number): number {
  if (viewOf !== buf) {
    view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    viewOf = buf;
  }
  const x = view.getUint32(i, true);
  // Every byte in 0x30..0x39: high nibble 3, and adding 6 does not carry out of the low nibble.
  if ((x & 0xf0f0f0f0) !== 0x30303030 || ((x + 0x06060606) & 0xf0f0f0f0) !== 0x30303030) return -1;
  const d = x - 0x30303030; // bytes d0 d1 d2 d3, d0 the first digit
  const pairs = ((d & 0x000f000f) * 10 + ((d >>> 8) & 0x000f000f)) >>> 0; // d0d1 | d2d3 << 16
  return (pairs & 0xffff) * 100 + (pairs >>> 16);
}

function bad(out: NumberScan): NumberKind {
  out.value = NaN;
  out.isIntLiteral = false;
  return NUM_BAD;
}

function special(buf: Buffer, start: number, end: number, out: NumberScan): NumberKind {
  if (end - start > 9) return bad(out);
  const text = buf.toString("latin1", start, end);
  out.isIntLiteral = false;
  if (MISSING_TOKENS.has(text)) {
    out.value = NaN;
    return NUM_MISSING;
  }
  const inf = INFINITY_TOKENS.get(text);
  if (inf !== undefined) {
    out.value = inf;
    return NUM_OK;
  }
  return bad(out);
}
