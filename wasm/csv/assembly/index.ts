// Numbers of a CSV file, read in WebAssembly: the file's bytes live in this module's (shared)
// memory, and the host (stages/lib/io/csv-wasm.ts) hands it runs of numeric fields. The same
// grammar and the same arithmetic as the JavaScript scanner (stages/lib/io/csv-number.ts), so every
// value equals what it gives, bit for bit; what that scanner sends to `Number()` (more than 19
// significant digits, exponents beyond the table, a value next to a rounding tie) is left to it.
//
// Why it is faster than the JavaScript: up to 19 digits go into one exact 64-bit integer, eight at
// a time (SWAR on a 64-bit load), where JavaScript needs two doubles and groups of four.
//
// No allocator and no static data: the host owns the memory layout (tables, scratch, file bytes).

// Tables at `tables` (float64 each, written by the host): exact powers of ten 10^0…10^22, then for
// e in [MIN_EXP10, MAX_EXP10] the double-double 10^e = hi + lo and hi's Veltkamp halves.
const MIN_EXP10: i32 = -250;
const MAX_EXP10: i32 = 280;
const POWERS: i32 = MAX_EXP10 - MIN_EXP10 + 1;
const EXACT_AT: usize = 0;
const HI_AT: usize = 23 * 8;
const LO_AT: usize = HI_AT + <usize>POWERS * 8;
const HI_HIGH_AT: usize = LO_AT + <usize>POWERS * 8;
const HI_LOW_AT: usize = HI_HIGH_AT + <usize>POWERS * 8;

// Scratch at `scratch`: int32 where the scan stopped, int32 1 when the last field ended its record,
// then SCRATCH_FIELDS float64 values, then SCRATCH_FIELDS bytes, 1 where the field was an integer
// literal. The host (csv-wasm.ts) has the same layout and never asks for more fields than that.
const SCRATCH_FIELDS: usize = 4096;
const STOP_AT: usize = 0;
const ENDED_AT: usize = 4;
const VALUES_AT: usize = 8;
const FLAGS_AT: usize = VALUES_AT + SCRATCH_FIELDS * 8;

const SPLIT: f64 = 134217729; // 2^27 + 1
const MARGIN: f64 = 1.0 / <f64>((<u64>1) << 40) / <f64>((<u64>1) << 57); // 2^-97
const TWO53: u64 = (<u64>1) << 53;

// Results of scanNumber besides the stop position.
let value: f64 = 0;
let intLiteral: bool = false;

/**
 * Reads up to `count` consecutive numeric fields from `pos`: each a plain number followed directly
 * by `delim`, or (the record's last) by LF, CR or `limit`. Writes their values and integer-literal
 * flags to the scratch and returns how many it read; the stop word is where the next field starts
 * (or, with the ended word set, the record's terminator). Stops early, leaving the field at the
 * stop word to the host, at anything else: quotes, spaces, missing values, text, or a number only
 * `Number()` decides.
 */
export function scanFields(pos: i32, limit: i32, delim: i32, count: i32, scratch: usize, tables: usize): i32 {
  const flags = scratch + FLAGS_AT;
  store<i32>(scratch + ENDED_AT, 0);
  let p = pos;
  for (let k = 0; k < count; k++) {
    const stop = scanNumber(p, limit, tables);
    if (stop < 0) {
      store<i32>(scratch + STOP_AT, p);
      return k;
    }
    const t: i32 = stop < limit ? <i32>load<u8>(<usize>stop) : -1;
    if (t == delim) {
      store<f64>(scratch + VALUES_AT + ((<usize>k) << 3), value);
      store<u8>(flags + <usize>k, intLiteral ? 1 : 0);
      p = stop + 1;
      continue;
    }
    if (t == 0x0a || t == 0x0d || t == -1) {
      store<f64>(scratch + VALUES_AT + ((<usize>k) << 3), value);
      store<u8>(flags + <usize>k, intLiteral ? 1 : 0);
      store<i32>(scratch + STOP_AT, stop);
      store<i32>(scratch + ENDED_AT, 1);
      return k + 1;
    }
    store<i32>(scratch + STOP_AT, p);
    return k;
  }
  store<i32>(scratch + STOP_AT, p);
  return count;
}

/** Eight ASCII digits in the little-endian word `x` (first digit in the low byte)? */
function eightDigits(x: u64): bool {
  return (
    ((x & 0xf0f0f0f0f0f0f0f0) | (((x + 0x0606060606060606) & 0xf0f0f0f0f0f0f0f0) >> 4)) == 0x3333333333333333
  );
}

/** The value of the eight ASCII digits in `x`: pairs, then quads, then the whole, by multiplies. */
function eightDigitsValue(x: u64): u64 {
  let v = x - 0x3030303030303030;
  v = v * 10 + (v >> 8);
  return (
    ((v & 0x000000ff000000ff) * 0x000f424000000064 + ((v >> 16) & 0x000000ff000000ff) * 0x0000271000000001) >>
    32
  );
}

/**
 * The number starting at `start` (no spaces): returns where it stopped, with `value` and
 * `intLiteral` set, or -1 when no number starts there or `Number()` must decide it.
 */
function scanNumber(start: i32, limit: i32, tables: usize): i32 {
  let i = start;
  let negative = false;
  if (i < limit) {
    const c0 = load<u8>(<usize>i);
    if (c0 == 0x2d || c0 == 0x2b) {
      negative = c0 == 0x2d;
      i++;
    }
  }
  let m: u64 = 0;
  let significant: i32 = 0;
  let exp10: i32 = 0;
  let digits: i32 = 0;
  let isInt = true;
  for (; i < limit; i++) {
    const c = <u32>load<u8>(<usize>i) - 0x30;
    if (c > 9) break;
    digits++;
    if (significant == 0 && c == 0) continue;
    if (significant < 19) m = m * 10 + <u64>c;
    else exp10++;
    significant++;
  }
  if (i < limit && load<u8>(<usize>i) == 0x2e) {
    isInt = false;
    i++;
    if (significant == 0)
      while (i < limit && load<u8>(<usize>i) == 0x30) {
        i++;
        digits++;
        exp10--;
      }
    // Eight at a time while they all fit in the 19 kept digits (the first is not a leading zero).
    while (significant <= 11 && i + 8 <= limit) {
      const x = load<u64>(<usize>i);
      if (!eightDigits(x)) break;
      m = m * 100000000 + eightDigitsValue(x);
      significant += 8;
      digits += 8;
      exp10 -= 8;
      i += 8;
    }
    for (; i < limit; i++) {
      const c = <u32>load<u8>(<usize>i) - 0x30;
      if (c > 9) break;
      digits++;
      if (significant == 0 && c == 0) {
        exp10--;
        continue;
      }
      if (significant < 19) {
        m = m * 10 + <u64>c;
        exp10--;
      }
      significant++;
    }
  }
  if (digits == 0) return -1;
  if (i < limit && (load<u8>(<usize>i) | 0x20) == 0x65) {
    isInt = false;
    i++;
    let expNegative = false;
    if (i < limit) {
      const s = load<u8>(<usize>i);
      if (s == 0x2d || s == 0x2b) {
        expNegative = s == 0x2d;
        i++;
      }
    }
    let expDigits = 0;
    let e: i32 = 0;
    for (; i < limit; i++) {
      const c = <u32>load<u8>(<usize>i) - 0x30;
      if (c > 9) break;
      expDigits++;
      if (e < 100000) e = e * 10 + <i32>c;
    }
    if (expDigits == 0) return -1;
    exp10 += expNegative ? -e : e;
  }
  intLiteral = isInt;
  if (significant == 0) {
    value = negative ? -0.0 : 0.0;
    return i;
  }
  if (significant > 19) return -1;
  // Clinger's fast path: m exact as a double, one correctly rounded multiply or divide.
  if (m < TWO53 && exp10 >= -22 && exp10 <= 22) {
    const f = <f64>m;
    const v =
      exp10 == 0
        ? f
        : exp10 > 0
          ? f * load<f64>(tables + EXACT_AT + ((<usize>exp10) << 3))
          : f / load<f64>(tables + EXACT_AT + ((<usize>-exp10) << 3));
    value = negative ? -v : v;
    return i;
  }
  if (exp10 < MIN_EXP10 || exp10 > MAX_EXP10) return -1;
  // m = mh + ml exactly (mh the nearest double, the difference a small integer), then the same
  // double-double product and rounding proof as decimal-to-double.ts.
  const mh = <f64>m;
  const ml = <f64>(<i64>(m - <u64>mh));
  const at = tables + ((<usize>(exp10 - MIN_EXP10)) << 3);
  const ph = load<f64>(at + HI_AT);
  const pl = load<f64>(at + LO_AT);
  const bh = load<f64>(at + HI_HIGH_AT);
  const bl = load<f64>(at + HI_LOW_AT);
  const p = mh * ph;
  const c = SPLIT * mh;
  const ah = c - (c - mh);
  const al = mh - ah;
  const pErr = al * bl - (p - ah * bh - al * bh - ah * bl) + (mh * pl + ml * ph + ml * pl);
  const r = p + pErr;
  const re = pErr - (r - p);
  const delta = 2 * MARGIN * Math.abs(r);
  const down = r + (re - delta);
  const up = r + (re + delta);
  if (down != up) return -1;
  value = negative ? -down : down;
  return i;
}
